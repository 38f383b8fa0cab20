package console

import (
	"cmp"
	"slices"
	"time"

	"github.com/sentio-health/sentio/wire"
)

// The bounds of the console's window of recent activity, in memory.
const (
	// MaxCalls is the number of calls kept. Past it, the call ended longest ago goes first;
	// when none has ended, the call updated longest ago.
	MaxCalls = 200
	// MaxUtterances is the number of utterances kept per call; past it, the earliest go.
	MaxUtterances = 1000
	// MaxDLQ is the number of DLQ entries kept; past it, the oldest go.
	MaxDLQ = 500
	// History is how far back the console reads the streams when it starts.
	History = time.Hour
)

// Call is one call in the window, as the page receives it.
type Call struct {
	// ID is the call id.
	ID string `json:"call_id"`
	// Updated is when the call's latest result or summary was stored in JetStream.
	Updated time.Time `json:"updated"`
	// Results are the call's utterances in time order (at most MaxUtterances).
	Results []*wire.Result `json:"results"`
	// Dropped counts the earliest utterances dropped past MaxUtterances.
	Dropped int `json:"dropped,omitempty"`
	// Summary is the call's summary, nil until the call ends.
	Summary *wire.Summary `json:"summary,omitempty"`
}

// DLQEntry is one rejected input: its headers' account of what was wrong, never its data
// (audio).
type DLQEntry struct {
	// Seq is the entry's sequence number in the DLQ stream.
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	CallID string    `json:"call_id"`
	// Code and Reason are Sentio-Reason-Code and Sentio-Reason.
	Code   string `json:"code"`
	Reason string `json:"reason"`
	// Stage is the stage that rejected the input; Subject the subject it was published on.
	Stage   string `json:"stage,omitempty"`
	Subject string `json:"subject,omitempty"`
	// Delivered is how many times the input had been delivered; Missing the chunks a
	// sequence_gap entry reports lost.
	Delivered string `json:"delivered,omitempty"`
	Missing   string `json:"missing,omitempty"`
}

// window is the console's bounded view of recent calls and rejects. It is not safe for
// concurrent use: the hub guards it.
type window struct {
	calls map[string]*Call
	dlq   []DLQEntry
	// recent holds the storage times of the results of the last minute, for throughput.
	recent []time.Time
	// models is the models map of the latest result.
	models map[string]string
}

func newWindow() *window { return &window{calls: map[string]*Call{}} }

// call returns the call id's entry, adding it (and evicting another past MaxCalls) when new. The
// second value is the id of the evicted call, or "".
func (w *window) call(id string, at time.Time) (*Call, string) {
	if c, ok := w.calls[id]; ok {
		if at.After(c.Updated) {
			c.Updated = at
		}
		return c, ""
	}
	c := &Call{ID: id, Updated: at}
	w.calls[id] = c
	evicted := ""
	if len(w.calls) > MaxCalls {
		evicted = w.evictOne(id)
	}
	return c, evicted
}

// evictOne drops the call ended longest ago, or else the one updated longest ago, never keep.
func (w *window) evictOne(keep string) string {
	// first reports whether c goes before v: ended calls before calls in progress, then the
	// least recently updated.
	first := func(c, v *Call) bool {
		if ce, ve := c.Summary != nil, v.Summary != nil; ce != ve {
			return ce
		}
		return c.Updated.Before(v.Updated)
	}
	var victim *Call
	for _, c := range w.calls {
		if c.ID != keep && (victim == nil || first(c, victim)) {
			victim = c
		}
	}
	if victim == nil {
		return ""
	}
	delete(w.calls, victim.ID)
	return victim.ID
}

// addResult stores r (replacing an earlier copy of the same utterance) and returns the id of a
// call evicted to make room, or "".
func (w *window) addResult(r *wire.Result, at time.Time) string {
	c, evicted := w.call(r.CallID, at)
	if i := slices.IndexFunc(c.Results, func(o *wire.Result) bool { return o.UtteranceID == r.UtteranceID }); i >= 0 {
		c.Results[i] = r
	} else {
		i, _ := slices.BinarySearchFunc(c.Results, r, func(a, b *wire.Result) int {
			return cmp.Or(cmp.Compare(a.StartMS, b.StartMS), cmp.Compare(a.Channel, b.Channel))
		})
		c.Results = slices.Insert(c.Results, i, r)
		if over := len(c.Results) - MaxUtterances; over > 0 {
			c.Results = slices.Delete(c.Results, 0, over)
			c.Dropped += over
		}
	}
	if len(r.Models) > 0 {
		w.models = r.Models
	}
	w.recent = append(w.recent, at)
	w.trim(at)
	return evicted
}

// addSummary stores a call's summary and returns the id of a call evicted, or "".
func (w *window) addSummary(s *wire.Summary, at time.Time) string {
	c, evicted := w.call(s.CallID, at)
	c.Summary = s
	return evicted
}

// addDLQ stores e unless an entry with its sequence number is already there (a feed that
// restarted reads it again); it reports whether e is new.
func (w *window) addDLQ(e DLQEntry) bool {
	if slices.ContainsFunc(w.dlq, func(o DLQEntry) bool { return o.Seq == e.Seq }) {
		return false
	}
	w.dlq = append(w.dlq, e)
	if over := len(w.dlq) - MaxDLQ; over > 0 {
		w.dlq = slices.Delete(w.dlq, 0, over)
	}
	return true
}

// trim forgets the throughput samples older than a minute before now.
func (w *window) trim(now time.Time) {
	i := 0
	for i < len(w.recent) && now.Sub(w.recent[i]) > time.Minute {
		i++
	}
	w.recent = w.recent[i:]
}

// perMinute is the number of results stored in the minute before now.
func (w *window) perMinute(now time.Time) int {
	n := 0
	for _, t := range w.recent {
		if d := now.Sub(t); d >= 0 && d <= time.Minute {
			n++
		}
	}
	return n
}

// sortedCalls returns the calls, the most recently updated first.
func (w *window) sortedCalls() []*Call {
	out := make([]*Call, 0, len(w.calls))
	for _, c := range w.calls {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Call) int { return b.Updated.Compare(a.Updated) })
	return out
}
