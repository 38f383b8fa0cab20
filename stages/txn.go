package stages

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Input is one input message as the runner sees it; the JetStream source and test doubles
// implement it.
type Input interface {
	// Ack acknowledges the message: every result that depends on it is durable.
	Ack() error
	// Nak asks for redelivery after delay.
	Nak(delay time.Duration) error
	// InProgress resets the ack deadline.
	InProgress() error
	// Delivered is how many times the message has been delivered, this time included.
	Delivered() uint64
	// Reject writes the message to the DLQ with its headers and the reason, then terminates it.
	// When the DLQ entry cannot be written, it must neither terminate nor ack the message: it
	// Naks it (with a delay), so that the message comes back and is rejected again, and returns
	// the error.
	Reject(code, reason, stage string) error
}

// Rejection is a permanent failure: the input can never succeed, so it goes to the DLQ.
type Rejection struct {
	// Code is a stable reason code (wire.Reason*).
	Code string
	// Stage is the stage that rejected the input (set by the runner when empty).
	Stage string
	// Err says what is wrong.
	Err error
}

func (r *Rejection) Error() string { return r.Code + ": " + r.Err.Error() }
func (r *Rejection) Unwrap() error { return r.Err }

// Reject returns a permanent failure with a reason code.
func Reject(code string, format string, args ...any) error {
	return &Rejection{Code: code, Err: fmt.Errorf(format, args...)}
}

// ErrAbandoned releases a Txn without a verdict during shutdown: the input is Naked without
// delay so another instance (or this one, restarted) processes it again.
var ErrAbandoned = errors.New("stages: abandoned at shutdown")

// ErrDuplicate releases a Txn without touching its message: another delivery of the same message
// is still being worked on, and its settlement covers this one.
var ErrDuplicate = errors.New("stages: duplicate delivery of a message in progress")

// Outcome is how a Txn settled.
type Outcome int

// The outcomes of a Txn.
const (
	Acked Outcome = iota
	Naked
	Rejected
	Abandoned
	Dropped
)

func (o Outcome) String() string {
	return [...]string{"acked", "naked", "rejected", "abandoned", "dropped"}[o]
}

// Txn is the transaction of one input message: it settles (ack, nak or reject) when the last
// reference to it is released.
type Txn struct {
	in      Input
	tracker *Tracker
	// Arrived is when the input was received.
	Arrived time.Time

	mu      sync.Mutex
	refs    int
	err     error
	settled bool
	done    chan struct{}
	outcome Outcome
}

// Failed returns the first error recorded on t, if any: work for a failed Txn can be skipped.
func (t *Txn) Failed() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Input returns the message t is about.
func (t *Txn) Input() Input { return t.in }

// Done is closed when t has settled.
func (t *Txn) Done() <-chan struct{} { return t.done }

// Outcome is how t settled; valid after Done is closed.
func (t *Txn) Outcome() Outcome {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.outcome
}

func (t *Txn) retain() {
	t.mu.Lock()
	if t.settled {
		t.mu.Unlock()
		panic("stages: retain on a settled Txn")
	}
	t.refs++
	t.mu.Unlock()
}

func (t *Txn) release(err error) {
	t.mu.Lock()
	if err != nil && (t.err == nil || (isSoft(t.err) && !isSoft(err))) {
		t.err = err
	}
	t.refs--
	if t.refs > 0 || t.settled {
		t.mu.Unlock()
		return
	}
	t.settled = true
	err = t.err
	t.mu.Unlock()
	t.tracker.settle(t, err)
}

// Retain takes one more reference on each Txn, for a stage that keeps them beyond Process.
func Retain(txns []*Txn) {
	for _, t := range txns {
		t.retain()
	}
}

// Release drops one reference on each Txn, recording err (nil for success).
func Release(txns []*Txn, err error) {
	for _, t := range txns {
		t.release(err)
	}
}

// Item is one unit of work between stages, with the inputs it depends on.
type Item[T any] struct {
	// V is the work itself.
	V T
	// Deps are the inputs whose ack waits for this item.
	Deps []*Txn
	// Key routes items of one key (a call and its channel) to the same worker of a keyed stage.
	Key string
	// Always runs the item even when every input it depends on has failed already (a call's
	// summary after its End chunk was rejected); other items are then skipped.
	Always bool
}

// isSoft reports errors that say nothing about the input itself.
func isSoft(err error) bool { return errors.Is(err, ErrAbandoned) || errors.Is(err, ErrDuplicate) }
