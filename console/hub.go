package console

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/sentio-health/sentio/wire"
)

// The event stream's timing and bounds.
const (
	// ClientBuffer is how many events a browser may fall behind before the console disconnects
	// it (the page then reconnects and starts from a new snapshot); the feed never waits for a
	// browser.
	ClientBuffer = 256
	// KeepAlive is how often an event stream with nothing to say gets a comment line, so that
	// proxies and the browser keep it open.
	KeepAlive = 15 * time.Second
	// StatusEvery is how often the status figures are sent.
	StatusEvery = 2 * time.Second
)

// hub holds the window and the browsers following it. Every change to the window goes out to
// the clients under the same lock, so that a client's snapshot and the events after it neither
// miss nor repeat a change.
type hub struct {
	log *slog.Logger

	mu      sync.Mutex
	win     *window
	clients map[*client]struct{}
}

// client is one browser's event stream: frames to write, and gone, closed when the hub drops it
// for falling ClientBuffer events behind.
type client struct {
	frames chan []byte
	gone   chan struct{}
}

func newHub(log *slog.Logger) *hub {
	return &hub{log: log, win: newWindow(), clients: map[*client]struct{}{}}
}

// frame encodes one server-sent event with v as its JSON data.
func frame(name string, v any) []byte { return frameOf(name, encode(v)) }

// encode is v's JSON (an error object in the impossible case that v cannot be encoded).
func encode(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	return data
}

// frameOf encodes one server-sent event. JSON has no raw newlines, so data is one line.
func frameOf(name string, data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(name) + len(data) + 16)
	b.WriteString("event: ")
	b.WriteString(name)
	b.WriteString("\ndata: ")
	b.Write(data)
	b.WriteString("\n\n")
	return b.Bytes()
}

// broadcastLocked sends f to every client; one that is ClientBuffer frames behind is dropped.
func (h *hub) broadcastLocked(f []byte) {
	for c := range h.clients {
		select {
		case c.frames <- f:
		default:
			delete(h.clients, c)
			close(c.gone)
			h.log.Warn("console client too slow: disconnected (the page reconnects with a new snapshot)", "behind", ClientBuffer)
		}
	}
}

// resultEvent and summaryEvent carry the time the call was updated with the change.
type resultEvent struct {
	Updated time.Time    `json:"updated"`
	Result  *wire.Result `json:"result"`
}

type summaryEvent struct {
	Updated time.Time     `json:"updated"`
	Summary *wire.Summary `json:"summary"`
}

type evictEvent struct {
	CallID string `json:"call_id"`
}

// result adds an utterance's result stored at at.
func (h *hub) result(r *wire.Result, at time.Time) {
	h.change(func(w *window) (string, []byte) {
		evicted := w.addResult(r, at)
		return evicted, frame("result", resultEvent{Updated: w.calls[r.CallID].Updated, Result: r})
	})
}

// summary adds a call's summary stored at at.
func (h *hub) summary(s *wire.Summary, at time.Time) {
	h.change(func(w *window) (string, []byte) {
		evicted := w.addSummary(s, at)
		return evicted, frame("summary", summaryEvent{Updated: w.calls[s.CallID].Updated, Summary: s})
	})
}

// change applies a change to the window under the lock and sends its event to the clients,
// after an evict event when a call left the window to make room.
func (h *hub) change(apply func(*window) (evicted string, event []byte)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	evicted, event := apply(h.win)
	if evicted != "" {
		h.broadcastLocked(frame("evict", evictEvent{CallID: evicted}))
	}
	h.broadcastLocked(event)
}

// dlq adds a reject.
func (h *hub) dlq(e DLQEntry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.win.addDLQ(e) {
		h.broadcastLocked(frame("dlq", e))
	}
}

// snapshot is the first event of every stream: the whole window.
type snapshot struct {
	Calls  []*Call    `json:"calls"`
	DLQ    []DLQEntry `json:"dlq"`
	Status Status     `json:"status"`
	Limits limits     `json:"limits"`
}

// limits tells the page the window's bounds, which it keeps too as events add to its copy.
type limits struct {
	Utterances int `json:"utterances"`
	DLQ        int `json:"dlq"`
}

// statusLocked completes st with the window's figures.
func (h *hub) statusLocked(st Status) Status {
	st.Models = h.win.models
	st.ResultsPerMinute = h.win.perMinute(st.Time)
	st.Calls = len(h.win.calls)
	for _, c := range h.win.calls {
		if c.Summary == nil {
			st.CallsInProgress++
		}
	}
	st.DLQ = len(h.win.dlq)
	return st
}

// snapshotJSON encodes the window, with st completed.
func (h *hub) snapshotJSON(st Status) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return encode(h.snapshotLocked(st))
}

func (h *hub) snapshotLocked(st Status) snapshot {
	dlq := h.win.dlq
	if dlq == nil {
		dlq = []DLQEntry{}
	}
	return snapshot{Calls: h.win.sortedCalls(), DLQ: dlq, Status: h.statusLocked(st), Limits: limits{Utterances: MaxUtterances, DLQ: MaxDLQ}}
}

// subscribe adds a client and returns it with its first frame, the snapshot (st completed).
func (h *hub) subscribe(st Status) (*client, []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := &client{frames: make(chan []byte, ClientBuffer), gone: make(chan struct{})}
	h.clients[c] = struct{}{}
	return c, frame("snapshot", h.snapshotLocked(st))
}

// unsubscribe removes c (a no-op when the hub dropped it already).
func (h *hub) unsubscribe(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c.gone)
	}
}

// status sends the figures, st completed, to every client; it does nothing without clients.
func (h *hub) status(st Status) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.clients) == 0 {
		return
	}
	h.broadcastLocked(frame("status", h.statusLocked(st)))
}

// clientCount is the number of browsers following.
func (h *hub) clientCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}
