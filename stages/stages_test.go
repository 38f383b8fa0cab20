package stages

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeInput records how the runner settled it.
type fakeInput struct {
	mu                          sync.Mutex
	delivered                   uint64
	acks, naks, rejects, inProg int
	code                        string
	// id, when set, identifies the message across deliveries (bus.Input: stream and sequence).
	id string
}

func (f *fakeInput) ID() string { return f.id }

// acked returns how many times the input was acked.
func (f *fakeInput) acked() int { f.mu.Lock(); defer f.mu.Unlock(); return f.acks }

func (f *fakeInput) Ack() error { f.mu.Lock(); f.acks++; f.mu.Unlock(); return nil }
func (f *fakeInput) Nak(time.Duration) error {
	f.mu.Lock()
	f.naks++
	f.mu.Unlock()
	return nil
}
func (f *fakeInput) InProgress() error { f.mu.Lock(); f.inProg++; f.mu.Unlock(); return nil }
func (f *fakeInput) Delivered() uint64 { return f.delivered }
func (f *fakeInput) Reject(code, reason, stage string) error {
	f.mu.Lock()
	f.rejects++
	f.code = code + "@" + stage
	f.mu.Unlock()
	return nil
}

type funcStage struct {
	name string
	fn   func(ctx context.Context, it Item[int], out Emitter[int]) error
}

func (s funcStage) Name() string { return s.name }
func (s funcStage) Process(ctx context.Context, w int, it Item[int], out Emitter[int]) error {
	return s.fn(ctx, it, out)
}

func run(t *testing.T, tr *Tracker, specs ...Spec[int]) *Pipeline[int] {
	t.Helper()
	p := New[int](nil, specs...)
	p.Start()
	t.Cleanup(func() {
		p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Wait(ctx); err != nil {
			t.Errorf("the pipeline did not finish its work at the end of the test: %v", err)
		}
	})
	return p
}

func submit(t *testing.T, p *Pipeline[int], tr *Tracker, in Input, v int) *Txn {
	t.Helper()
	txn := tr.Begin(in)
	if err := p.Submit(context.Background(), Item[int]{V: v, Deps: []*Txn{txn}}); err != nil {
		t.Fatal(err)
	}
	return txn
}

func waitDone(t *testing.T, txn *Txn) {
	t.Helper()
	select {
	case <-txn.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("input never settled")
	}
}

// The ack waits for the last of the items fanned out from an input.
func TestFanOutAcksAfterLastItem(t *testing.T) {
	tr := NewTracker(Policy{MaxDeliver: 3}, nil, nil)
	defer tr.Close()
	release := make(chan struct{})
	blocked := make(chan struct{})
	var published atomic.Int32
	p := run(t, tr,
		Spec[int]{Stage: funcStage{"split", func(ctx context.Context, it Item[int], out Emitter[int]) error {
			for i := 0; i < it.V; i++ {
				out(Item[int]{V: i, Deps: it.Deps})
			}
			return nil
		}}},
		// One worker takes the items in order, so when it holds the last one the others have
		// been published and released.
		Spec[int]{Stage: funcStage{"publish", func(ctx context.Context, it Item[int], out Emitter[int]) error {
			if it.V == 2 {
				close(blocked)
				<-release
			}
			published.Add(1)
			return nil
		}}, Queue: 4},
	)
	in := &fakeInput{delivered: 1}
	txn := submit(t, p, tr, in, 3)
	select {
	case <-blocked:
	case <-time.After(5 * time.Second):
		t.Fatal("the last item never reached the publish stage")
	}
	if n := published.Load(); n != 2 || in.acked() != 0 {
		t.Fatalf("with %d of 3 items published the input was acked %d times; want 2 and 0", n, in.acked())
	}
	close(release)
	waitDone(t, txn)
	if in.acks != 1 || published.Load() != 3 || txn.Outcome() != Acked {
		t.Fatalf("acks=%d published=%d outcome=%v", in.acks, published.Load(), txn.Outcome())
	}
}

// Fan-in: an item depending on several inputs acks all of them, once.
func TestFanInAcksEveryInput(t *testing.T) {
	tr := NewTracker(Policy{MaxDeliver: 3}, nil, nil)
	defer tr.Close()
	var held []*Txn
	var mu sync.Mutex
	ins := []*fakeInput{{delivered: 1}, {delivered: 1}, {delivered: 1}}
	p := run(t, tr,
		Spec[int]{Stage: funcStage{"gather", func(ctx context.Context, it Item[int], out Emitter[int]) error {
			mu.Lock()
			defer mu.Unlock()
			// The keyed stage's one worker finished the earlier items (and released their own
			// hold on their inputs) before taking this one: the inputs are held here only.
			for i, in := range ins[:len(held)] {
				if in.acked() != 0 {
					t.Errorf("input %d, held by the gather stage, was acked before its item was published", i)
				}
			}
			Retain(it.Deps)
			held = append(held, it.Deps...)
			if len(held) == 3 {
				out(Item[int]{V: 0, Deps: held})
				Release(held, nil)
				held = nil
			}
			return nil
		}}, Keyed: true},
		Spec[int]{Stage: funcStage{"publish", func(ctx context.Context, it Item[int], out Emitter[int]) error { return nil }}},
	)
	var txns []*Txn
	for i, in := range ins {
		txns = append(txns, submit(t, p, tr, in, i))
	}
	for i, txn := range txns {
		waitDone(t, txn)
		if ins[i].acks != 1 {
			t.Fatalf("input %d acked %d times", i, ins[i].acks)
		}
	}
}

func TestPermanentFailureRejectsOnce(t *testing.T) {
	tr := NewTracker(Policy{MaxDeliver: 3}, nil, nil)
	defer tr.Close()
	p := run(t, tr,
		Spec[int]{Stage: funcStage{"split", func(ctx context.Context, it Item[int], out Emitter[int]) error {
			out(Item[int]{V: 1, Deps: it.Deps})
			out(Item[int]{V: 2, Deps: it.Deps})
			return nil
		}}},
		Spec[int]{Stage: funcStage{"asr", func(ctx context.Context, it Item[int], out Emitter[int]) error {
			return Reject("not_audio", "item %d is noise", it.V)
		}}, Workers: 2, Retries: 3},
	)
	in := &fakeInput{delivered: 1}
	txn := submit(t, p, tr, in, 0)
	waitDone(t, txn)
	if in.rejects != 1 || in.acks != 0 || in.naks != 0 || in.code != "not_audio@asr" {
		t.Fatalf("rejects=%d acks=%d naks=%d code=%q", in.rejects, in.acks, in.naks, in.code)
	}
}

func TestTransientFailureNaksThenRejectsOnLastDelivery(t *testing.T) {
	tr := NewTracker(Policy{MaxDeliver: 3, NakDelay: time.Millisecond}, nil, nil)
	defer tr.Close()
	var calls atomic.Int32
	p := run(t, tr,
		Spec[int]{Stage: funcStage{"reason", func(ctx context.Context, it Item[int], out Emitter[int]) error {
			calls.Add(1)
			return fmt.Errorf("model busy")
		}}, Retries: 1},
	)
	first := &fakeInput{id: "AUDIO/1", delivered: 1}
	waitDone(t, submit(t, p, tr, first, 0))
	if first.naks != 1 || first.rejects != 0 {
		t.Fatalf("first delivery: naks=%d rejects=%d", first.naks, first.rejects)
	}
	if calls.Load() != 2 {
		t.Fatalf("Process ran %d times; want 2 (one in-place retry)", calls.Load())
	}
	second := &fakeInput{id: "AUDIO/1", delivered: 2}
	waitDone(t, submit(t, p, tr, second, 0))
	if second.naks != 1 || second.rejects != 0 {
		t.Fatalf("second delivery: naks=%d rejects=%d", second.naks, second.rejects)
	}
	last := &fakeInput{id: "AUDIO/1", delivered: 3}
	waitDone(t, submit(t, p, tr, last, 0))
	if last.rejects != 1 || last.naks != 0 || last.code != "max_deliveries@reason" {
		t.Fatalf("last delivery: naks=%d rejects=%d code=%q", last.naks, last.rejects, last.code)
	}
}

// A slow stage fills the bounded queues and then Submit blocks: nothing more is taken in.
func TestBackpressureBlocksSubmit(t *testing.T) {
	tr := NewTracker(Policy{}, nil, nil)
	defer tr.Close()
	gate := make(chan struct{})
	p := run(t, tr,
		Spec[int]{Stage: funcStage{"fast", func(ctx context.Context, it Item[int], out Emitter[int]) error {
			out(Item[int]{V: it.V, Deps: it.Deps})
			return nil
		}}, Queue: 2},
		Spec[int]{Stage: funcStage{"slow", func(ctx context.Context, it Item[int], out Emitter[int]) error {
			<-gate
			return nil
		}}, Queue: 2},
	)
	accepted := 0
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		txn := tr.Begin(&fakeInput{delivered: 1})
		err := p.Submit(ctx, Item[int]{V: i, Deps: []*Txn{txn}})
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
			Release([]*Txn{txn}, ErrAbandoned)
			break
		}
		accepted++
	}
	// slow holds 1, its queue 2, fast holds 1 blocked in emit, fast's queue 2: at most 6.
	if accepted > 6 || accepted < 4 {
		t.Fatalf("accepted %d items before blocking; want the pipeline's capacity (4..6)", accepted)
	}
	close(gate)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Wait(ctx); err != nil {
		t.Fatalf("inputs still unsettled after the gate opened: %d", tr.Live())
	}
}

func TestKeepAliveSendsInProgress(t *testing.T) {
	tr := NewTracker(Policy{KeepAlive: 20 * time.Millisecond}, nil, nil)
	defer tr.Close()
	in := &fakeInput{delivered: 1}
	txn := tr.Begin(in)
	count := func() int { in.mu.Lock(); defer in.mu.Unlock(); return in.inProg }
	deadline := time.Now().Add(10 * time.Second)
	for count() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if count() < 3 {
		t.Fatalf("an unsettled input got %d InProgress signals", count())
	}
	// A second input, left unsettled, witnesses that the keep-alive goes on ticking.
	witness := &fakeInput{delivered: 1}
	wtxn := tr.Begin(witness)
	defer Release([]*Txn{wtxn}, nil)
	witnessed := func() int { witness.mu.Lock(); defer witness.mu.Unlock(); return witness.inProg }
	ticks := func(n int) {
		t.Helper()
		from := witnessed()
		for deadline := time.Now().Add(10 * time.Second); witnessed() < from+n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the keep-alive stopped for the unsettled input")
			}
		}
	}
	Release([]*Txn{txn}, nil)
	<-txn.Done()
	// A tick that listed the input before it settled may still signal it; the tick after that
	// one lists the live inputs afresh.
	ticks(2)
	after := count()
	ticks(3)
	if count() != after {
		t.Fatalf("InProgress sent after the input settled (%d → %d)", after, count())
	}
}

// Drain: Close finishes queued work and acks it; a forced stop abandons what is left.
func TestDrainFinishesThenForces(t *testing.T) {
	tr := NewTracker(Policy{}, nil, nil)
	defer tr.Close()
	p := New[int](nil, Spec[int]{Stage: funcStage{"work", func(ctx context.Context, it Item[int], out Emitter[int]) error {
		if it.V == 99 {
			<-ctx.Done()
			return ctx.Err()
		}
		time.Sleep(10 * time.Millisecond)
		return nil
	}}, Queue: 10})
	p.Start()
	var ins []*fakeInput
	for i := 0; i < 5; i++ {
		in := &fakeInput{delivered: 1}
		ins = append(ins, in)
		txn := tr.Begin(in)
		_ = p.Submit(context.Background(), Item[int]{V: i, Deps: []*Txn{txn}})
	}
	stuck := &fakeInput{delivered: 1}
	_ = p.Submit(context.Background(), Item[int]{V: 99, Deps: []*Txn{tr.Begin(stuck)}})
	p.Close()
	if err := p.Submit(context.Background(), Item[int]{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v; want the deadline (one item never finishes)", err)
	}
	for i, in := range ins {
		if in.acks != 1 {
			t.Fatalf("queued input %d was not finished during the drain", i)
		}
	}
	if stuck.naks != 1 || stuck.acks != 0 {
		t.Fatalf("stuck input: naks=%d acks=%d; want it naked for redelivery", stuck.naks, stuck.acks)
	}
}
