package stages

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Policy says how unsettled and failed inputs are treated.
type Policy struct {
	// MaxDeliver is the number of deliveries after which a transient failure rejects the input.
	MaxDeliver int
	// NakDelay is the base delay of a Nak; it grows with the delivery count.
	NakDelay time.Duration
	// KeepAlive is how often unsettled inputs get InProgress (about a third of the ack wait);
	// 0 disables it.
	KeepAlive time.Duration
}

// Tracker owns the Txns of live inputs: it creates them, keeps their ack deadline alive, settles
// them, and waits for them at shutdown.
type Tracker struct {
	policy  Policy
	log     *slog.Logger
	metrics *Metrics

	mu   sync.Mutex
	live map[*Txn]struct{}
	idle chan struct{} // closed and replaced when live becomes empty

	stop chan struct{}
	wg   sync.WaitGroup
}

// NewTracker returns a Tracker; Close stops its keep-alive loop.
func NewTracker(p Policy, log *slog.Logger, m *Metrics) *Tracker {
	if p.MaxDeliver <= 0 {
		p.MaxDeliver = 5
	}
	if p.NakDelay <= 0 {
		p.NakDelay = time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{policy: p, log: log, metrics: m, live: map[*Txn]struct{}{}, stop: make(chan struct{})}
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
	case int(t.in.Delivered()) >= tr.policy.MaxDeliver:
		out, aerr = Rejected, t.in.Reject("max_deliveries", "failed on each of its deliveries; last error: "+err.Error(), stageOf(err))
	default:
		d := tr.policy.NakDelay * time.Duration(t.in.Delivered())
		out, aerr = Naked, t.in.Nak(d)
	}
	if aerr != nil {
		// The input stays unacked and JetStream redelivers it after the ack wait.
		tr.log.Warn("settling input failed; it will be redelivered", "outcome", out.String(), "err", aerr)
	}
	if err != nil && out != Abandoned {
		tr.log.Debug("input failed", "outcome", out.String(), "err", err)
	}
	t.mu.Lock()
	t.outcome = out
	t.mu.Unlock()
	close(t.done)
	tr.metrics.settled(out)
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
