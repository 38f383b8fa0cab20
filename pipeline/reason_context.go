package pipeline

import (
	"sort"
	"sync"
)

// callHistory keeps, per call, the last utterances reasoned about, for reasoning models that read
// the previous utterances of the call as context (reasoning.llm.context_utterances). It is bounded:
// n utterances per call, maxCalls calls (the least recently used call is forgotten first), and a
// call is forgotten when its summary passes.
type callHistory struct {
	n, maxCalls int

	mu    sync.Mutex
	calls map[string]*callUtterances
	tick  uint64
}

type callUtterances struct {
	used uint64
	utts []pastUtterance // sorted by start, then channel
}

type pastUtterance struct {
	start   int64
	channel int
	text    string
}

func newCallHistory(n, maxCalls int) *callHistory {
	if n <= 0 {
		return nil
	}
	return &callHistory{n: n, maxCalls: max(1, maxCalls), calls: map[string]*callUtterances{}}
}

// before returns the texts of the call's utterances reasoned so far that start before start (on
// any channel), oldest first, at most n.
func (h *callHistory) before(callID string, start int64, channel int) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.calls[callID]
	if c == nil {
		return nil
	}
	var out []string
	for _, u := range c.utts {
		if u.start < start || (u.start == start && u.channel < channel) {
			out = append(out, u.text)
		}
	}
	if len(out) > h.n {
		out = out[len(out)-h.n:]
	}
	return out
}

// add records an utterance of the call, keeping the call's n latest.
func (h *callHistory) add(callID string, start int64, channel int, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tick++
	c := h.calls[callID]
	if c == nil {
		if len(h.calls) >= h.maxCalls {
			h.evictLocked()
		}
		c = &callUtterances{}
		h.calls[callID] = c
	}
	c.used = h.tick
	c.utts = append(c.utts, pastUtterance{start: start, channel: channel, text: text})
	sort.SliceStable(c.utts, func(i, j int) bool {
		a, b := c.utts[i], c.utts[j]
		return a.start < b.start || (a.start == b.start && a.channel < b.channel)
	})
	if len(c.utts) > h.n {
		c.utts = append(c.utts[:0], c.utts[len(c.utts)-h.n:]...)
	}
}

// forget drops a call's utterances (its summary has passed).
func (h *callHistory) forget(callID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.calls, callID)
}

func (h *callHistory) evictLocked() {
	var oldest string
	var used uint64
	for id, c := range h.calls {
		if oldest == "" || c.used < used {
			oldest, used = id, c.used
		}
	}
	delete(h.calls, oldest)
}
