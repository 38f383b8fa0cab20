package pipeline

import (
	"slices"
	"testing"
)

// The context of an utterance is the call's utterances reasoned before it that start earlier,
// the latest n, in time order; calls are bounded and forgotten at their summary.
func TestCallHistory(t *testing.T) {
	if newCallHistory(0, 10) != nil {
		t.Error("a history without context utterances")
	}
	h := newCallHistory(2, 2)
	h.add("a", 300, 0, "third")
	h.add("a", 100, 0, "first")
	h.add("a", 200, 1, "second")
	h.add("b", 100, 0, "other call")
	if got := h.before("a", 400, 0); !slices.Equal(got, []string{"second", "third"}) {
		t.Errorf("before 400: %q", got)
	}
	if got := h.before("a", 250, 0); !slices.Equal(got, []string{"second"}) {
		t.Errorf("before 250 (\"first\" fell out of the 2 kept): %q", got)
	}
	if got := h.before("a", 200, 0); got != nil {
		t.Errorf("before 200 on channel 0: %q", got)
	}
	h.add("c", 0, 0, "third call") // evicts a, the call added to least recently
	if h.before("a", 1000, 0) != nil || h.before("b", 1000, 0) == nil {
		t.Error("eviction took the wrong call")
	}
	h.forget("b")
	if h.before("b", 1000, 0) != nil {
		t.Error("a forgotten call keeps its utterances")
	}
}
