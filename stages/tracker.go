package stages

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sentio-health/sentio/wire"
)

// Policy says how unsettled and failed inputs are treated.
type Policy struct {
	// MaxDeliver is the number of failed deliveries after which a transient failure rejects the
	// input (max_deliveries). Deliveries that did not fail (the process crashed, was killed or
	// stopped with the input in flight) do not count: see [Tracker]. The daemon passes
	// nats.max_deliver; below 1 it is 1: the first failure rejects.
	MaxDeliver int
	// NakDelay is the base delay of a Nak; it grows with the number of failures.
	NakDelay time.Duration
	// KeepAlive is how often unsettled inputs get InProgress (about a third of the ack wait);
	// 0 disables it.
	KeepAlive time.Duration
}

// Tracker owns the Txns of live inputs: it creates them, keeps their ack deadline alive, settles
// them, and waits for them at shutdown.
//
// It counts failed deliveries, not deliveries: JetStream's delivery count also grows when the
// process dies (or stops, or loses a partition) with a message in flight, and such a message has
// not failed; counting those would send innocent inputs to the DLQ after a few crashes. So the
// Tracker records each failed delivery of an input that has an identity ([Identified]: stream and
// sequence) in memory, and rejects it as max_deliveries when the failures reach
// Policy.MaxDeliver. The record is forgotten when the input is acked or rejected, and after
// [failureMemory]. After a restart (or a failover to another instance) the count starts again:
// an input that fails on every delivery gets MaxDeliver more tries per process, and the
// consumer's own delivery limit (see bus.ConsumerConfig) bounds the total, which also catches an
// input that crashes the process each time it is processed.
type Tracker struct {
	policy  Policy
	log     *slog.Logger
	metrics *Metrics

	mu   sync.Mutex
	live map[*Txn]struct{}
	idle chan struct{} // closed and replaced when live becomes empty

	failures map[string]failures // by Identified.ID
	swept    time.Time

	stop chan struct{}
	wg   sync.WaitGroup
}

// NewTracker returns a Tracker; Close stops its keep-alive loop.
func NewTracker(p Policy, log *slog.Logger, m *Metrics) *Tracker {
	p.MaxDeliver = max(p.MaxDeliver, 1)
	if p.NakDelay <= 0 {
		p.NakDelay = time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{policy: p, log: log, metrics: m, live: map[*Txn]struct{}{}, failures: map[string]failures{},
		swept: time.Now(), stop: make(chan struct{})}
	if p.KeepAlive > 0 {
		t.wg.Add(1)
		go t.keepAlive()
	}
	return t
}

// Begin starts the Txn of a newly received input, holding one reference for the first Item.
func (tr *Tracker) Begin(in Input) *Txn {
	t := &Txn{in: in, tracker: tr, Arrived: time.Now(), refs: 1, done: make(chan struct{})}
	tr.mu.Lock()
	tr.live[t] = struct{}{}
	n := len(tr.live)
	tr.mu.Unlock()
	tr.metrics.inputsInFlight(n)
	return t
}

// Live returns the number of unsettled inputs.
func (tr *Tracker) Live() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.live)
}

// Wait blocks until no input is unsettled or ctx ends.
func (tr *Tracker) Wait(ctx context.Context) error {
	for {
		tr.mu.Lock()
		if len(tr.live) == 0 {
			tr.mu.Unlock()
			return nil
		}
		if tr.idle == nil {
			tr.idle = make(chan struct{})
		}
		idle := tr.idle
		tr.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops the keep-alive loop.
func (tr *Tracker) Close() {
	select {
	case <-tr.stop:
	default:
		close(tr.stop)
	}
	tr.wg.Wait()
}

func (tr *Tracker) keepAlive() {
	defer tr.wg.Done()
	tick := time.NewTicker(tr.policy.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-tr.stop:
			return
		case <-tick.C:
		}
		tr.mu.Lock()
		txns := make([]*Txn, 0, len(tr.live))
		for t := range tr.live {
			txns = append(txns, t)
		}
		tr.mu.Unlock()
		for _, t := range txns {
			if err := t.in.InProgress(); err != nil {
				tr.log.Debug("in-progress signal failed", "err", err)
			}
		}
	}
}

// settle applies the delivery rule to a Txn whose last reference is gone.
func (tr *Tracker) settle(t *Txn, err error) {
	var rej *Rejection
	var out Outcome
	var aerr error
	switch {
	case err == nil:
		out, aerr = Acked, t.in.Ack()
	case errors.Is(err, ErrDuplicate):
		out = Dropped
	case errors.Is(err, ErrAbandoned):
		out, aerr = Abandoned, t.in.Nak(0)
	case errors.As(err, &rej):
		out, aerr = Rejected, t.in.Reject(rej.Code, rej.Err.Error(), rej.Stage)
	default:
		n := tr.failed(t.in)
		if n >= tr.policy.MaxDeliver {
			out, aerr = Rejected, t.in.Reject(wire.ReasonMaxDeliveries, fmt.Sprintf("failed on %d deliveries (max_deliver %d); last error: %v",
				n, tr.policy.MaxDeliver, err), stageOf(err))
		} else {
			out, aerr = Naked, t.in.Nak(tr.policy.NakDelay*time.Duration(n))
		}
	}
	switch {
	case out == Rejected && aerr != nil:
		// The DLQ entry could not be written: the input was Naked instead (see Input.Reject) and
		// is rejected again when it comes back. Its failures so far are kept.
		out = Naked
		tr.log.Warn("rejecting input failed; it stays pending and is rejected again when it comes back", "err", aerr)
	case aerr != nil:
		// The input stays unacked and JetStream redelivers it after the ack wait.
		tr.log.Warn("settling input failed; it will be redelivered", "outcome", out.String(), "err", aerr)
	case out == Acked || out == Rejected:
		tr.forget(t.in)
	}
	if err != nil && out != Abandoned {
		tr.log.Debug("input failed", "outcome", out.String(), "err", err)
	}
	t.mu.Lock()
	t.outcome = out
	t.mu.Unlock()
	tr.metrics.settled(out) // before Done: whoever waits for it sees the count
	close(t.done)
	tr.mu.Lock()
	delete(tr.live, t)
	n := len(tr.live)
	if n == 0 && tr.idle != nil {
		close(tr.idle)
		tr.idle = nil
	}
	tr.mu.Unlock()
	tr.metrics.inputsInFlight(n)
}

// Identified is an [Input] with an identity that stays the same across its redeliveries (bus.Input:
// stream and sequence); "" means none. The Tracker counts the failures of identified inputs over
// their deliveries; an input without an identity is delivered once (local files), so each of its
// failures is its first.
type Identified interface {
	ID() string
}

// failureMemory is how long the failures of an input are remembered after the last one: the
// input comes back after a Nak delay of seconds, unless it went to another instance meanwhile.
const failureMemory = time.Hour

type failures struct {
	n    int
	last time.Time
}

// failed records a failed delivery of in and returns how many deliveries of it have failed, this
// one included, as far as this process knows.
func (tr *Tracker) failed(in Input) int {
	id := idOf(in)
	if id == "" {
		return 1
	}
	now := time.Now()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if now.Sub(tr.swept) > failureMemory/4 {
		for k, f := range tr.failures {
			if now.Sub(f.last) > failureMemory {
				delete(tr.failures, k)
			}
		}
		tr.swept = now
	}
	f := tr.failures[id]
	f.n++
	f.last = now
	tr.failures[id] = f
	return f.n
}

// forget drops the failures of an input that has settled for good.
func (tr *Tracker) forget(in Input) {
	if id := idOf(in); id != "" {
		tr.mu.Lock()
		delete(tr.failures, id)
		tr.mu.Unlock()
	}
}

func idOf(in Input) string {
	if i, ok := in.(Identified); ok {
		return i.ID()
	}
	return ""
}

// StageError is a transient failure annotated with the stage it happened in.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return e.Stage + ": " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

func stageOf(err error) string {
	var se *StageError
	if errors.As(err, &se) {
		return se.Stage
	}
	return ""
}
