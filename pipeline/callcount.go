package pipeline

import (
	"sync"
	"time"

	"github.com/sentio-health/sentio/stages"
)

// callCounter keeps, per call, what its summary must wait for: the utterances in the pipeline
// (emitted by the segment stage, not yet published or failed), and the utterances owed by a
// failure: an utterance that failed (not rejected) is not published, but its input is Naked and
// comes back, and the segment stage cuts it again from the redelivered audio. Each utterance cut
// from a redelivered input repays one owed utterance of its call.
//
// An owed utterance that never comes back (its input went to the DLQ, or its call moved to
// another instance) is forgotten after forgetAfter: summaries stop waiting for it long before
// (the gap wait).
type callCounter struct {
	mu          sync.Mutex
	calls       map[string]*callCount
	forgetAfter time.Duration
}

// callCount is one call's entry; it is removed when nothing is in flight or owed.
type callCount struct {
	inFlight int
	owed     int
	lastFail time.Time
	// changed is closed (and replaced) on every change of the entry.
	changed chan struct{}
}

// callWait is a snapshot of a call's entry and a channel closed on its next change.
type callWait struct {
	inFlight, owed int
	lastFail       time.Time
	changed        <-chan struct{}
}

// newCallCounter returns a counter that forgets owed utterances after four times the gap wait
// (ten minutes at least).
func newCallCounter(gapWait time.Duration) *callCounter {
	return &callCounter{calls: map[string]*callCount{}, forgetAfter: max(10*time.Minute, 4*gapWait)}
}

// update applies f to the call's entry, wakes its waiters and drops the entry once it is empty.
func (c *callCounter) update(call string, f func(e *callCount)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.calls[call]
	if e == nil {
		e = &callCount{changed: make(chan struct{})}
		c.calls[call] = e
	}
	f(e)
	close(e.changed)
	e.changed = make(chan struct{})
	if e.inFlight <= 0 && e.owed <= 0 {
		delete(c.calls, call)
	}
}

// add changes the number of the call's utterances in the pipeline by d.
func (c *callCounter) add(call string, d int) {
	c.update(call, func(e *callCount) { e.inFlight += d })
}

// emitted counts an utterance the segment stage sends on; cut from a redelivered input, it repays
// one owed utterance of the call.
func (c *callCounter) emitted(call string, deps []*stages.Txn) {
	redelivered := false
	for _, d := range deps {
		redelivered = redelivered || d.Input().Delivered() > 1
	}
	c.update(call, func(e *callCount) {
		e.inFlight++
		if redelivered && e.owed > 0 {
			e.owed--
		}
	})
}

// failed takes an utterance out of the pipeline that failed and will be cut again from its
// redelivered input: it is owed to the call's summary.
func (c *callCounter) failed(call string) {
	c.update(call, func(e *callCount) {
		e.inFlight--
		e.owed++
		e.lastFail = time.Now()
	})
	c.forget(time.Now().Add(-c.forgetAfter))
}

// forget drops the entries of calls with nothing in flight whose last failure came before
// cutoff. It runs on each failure, so that entries are bounded by the failures of the last
// forgetAfter.
func (c *callCounter) forget(cutoff time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for call, e := range c.calls {
		if e.inFlight <= 0 && e.lastFail.Before(cutoff) {
			close(e.changed)
			delete(c.calls, call)
		}
	}
}

// wait returns the call's counts now and a channel closed on their next change.
func (c *callCounter) wait(call string) callWait {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.calls[call]
	if e == nil {
		ch := make(chan struct{}) // never closed: nothing will change an empty entry's snapshot
		return callWait{changed: ch}
	}
	return callWait{inFlight: e.inFlight, owed: e.owed, lastFail: e.lastFail, changed: e.changed}
}
