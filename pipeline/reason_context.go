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
	n int

	mu    sync.Mutex
	calls *callLRU[callUtterances]
}

type callUtterances struct {
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
	return &callHistory{n: n, calls: newCallLRU[callUtterances](maxCalls)}
}

// before returns the texts of the call's utterances reasoned so far that start before start (on
// any channel), oldest first, at most n.
func (h *callHistory) before(callID string, start int64, channel int) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.calls.peek(callID)
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
	c := h.calls.get(callID)
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
	h.calls.forget(callID)
}
