package stages

import (
	"testing"
	"time"
)

// A hold keeps its inputs unsettled until it is released, once however often Release is called;
// the error it is released with is recorded.
func TestHoldKeepsInputsUntilReleasedOnce(t *testing.T) {
	tr := NewTracker(Policy{MaxDeliver: 3}, nil, nil)
	a, b := &fakeInput{delivered: 1}, &fakeInput{delivered: 1}
	ta, tb := tr.Begin(a), tr.Begin(b)
	h1 := Keep([]*Txn{ta, tb})
	h2 := Keep([]*Txn{tb})
	if deps := DepsOf([]*Hold{h1, h2}); len(deps) != 2 {
		t.Fatalf("DepsOf gave %d inputs; want 2 distinct", len(deps))
	}
	Release([]*Txn{ta, tb}, nil) // the item's own reference, as the runner drops it
	h1.Release(nil)
	h1.Release(nil) // shared by several utterances: released again, no effect
	select {
	case <-ta.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a is not settled after its only hold was released")
	}
	select {
	case <-tb.Done():
		t.Fatal("b settled while h2 still holds it (a double release dropped a reference it did not own)")
	default:
	}
	h2.Release(Reject("late_chunk", "test"))
	<-tb.Done()
	if ta.Outcome() != Acked || tb.Outcome() != Rejected {
		t.Fatalf("outcomes %v, %v; want acked, rejected", ta.Outcome(), tb.Outcome())
	}
}
