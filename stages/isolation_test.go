package stages

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// tickPanicker panics in Tick (the first time) and in Close.
type tickPanicker struct {
	funcStage
	ticked chan struct{}
	once   sync.Once
}

func (s *tickPanicker) Tick(ctx context.Context, w int, now time.Time, out Emitter[int]) {
	s.once.Do(func() {
		defer close(s.ticked)
		panic("tick went wrong")
	})
}

func (s *tickPanicker) Close(ctx context.Context, w int, out Emitter[int]) { panic("close went wrong") }

// A panic in Process rejects the inputs of that item (internal_error) and nothing else: the
// worker survives, other inputs in flight at the same moment (on another worker, or fanned out
// from the same stage) are acked, and the panic is one log line and one count.
func TestPanicRejectsOnlyTheItemsInputs(t *testing.T) {
	var logs testenv.LogBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	tr := NewTracker(Policy{MaxDeliver: 3}, log, m)
	defer tr.Close()
	inBoom := make(chan struct{})
	release := make(chan struct{})
	p := New[int](m,
		Spec[int]{Stage: funcStage{"split", func(ctx context.Context, it Item[int], out Emitter[int]) error {
			out(Item[int]{V: it.V, Deps: it.Deps})
			if it.V == 1 {
				out(Item[int]{V: 100, Deps: it.Deps}) // a sibling that succeeds: the input still fails
			}
			return nil
		}}},
		Spec[int]{Stage: funcStage{"asr", func(ctx context.Context, it Item[int], out Emitter[int]) error {
			switch it.V {
			case 1:
				close(inBoom)
				<-release
				var m map[string]int
				//lint:ignore SA5000 the bug whose panic this test recovers
				m["x"] = 1 // a real bug: assignment to a nil map
			case 2:
				<-release // in flight on the other worker while item 1 panics
			}
			return nil
		}}, Workers: 2, Queue: 4, Retries: 3},
	)
	p.SetLogger(log)
	p.Start()
	defer func() {
		p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Wait(ctx); err != nil {
			t.Errorf("the pipeline did not finish its work at the end of the test: %v", err)
		}
	}()
	bad := &fakeInput{delivered: 1}
	bystander := &fakeInput{delivered: 1}
	badTxn := submit(t, p, tr, bad, 1)
	<-inBoom
	byTxn := submit(t, p, tr, bystander, 2)
	close(release)
	waitDone(t, badTxn)
	waitDone(t, byTxn)
	if bad.rejects != 1 || bad.acks != 0 || bad.naks != 0 || bad.code != wire.ReasonInternal+"@asr" {
		t.Fatalf("panicking input: rejects=%d acks=%d naks=%d code=%q; want one internal_error rejection by asr",
			bad.rejects, bad.acks, bad.naks, bad.code)
	}
	if bystander.acks != 1 || bystander.rejects != 0 {
		t.Fatalf("input in flight beside the panic: acks=%d rejects=%d; want acked", bystander.acks, bystander.rejects)
	}
	// The worker that panicked is still there: a later input on the same stage is acked.
	after := &fakeInput{delivered: 1}
	waitDone(t, submit(t, p, tr, after, 3))
	if after.acks != 1 {
		t.Fatalf("input after the panic: acks=%d", after.acks)
	}
	if n := metricValue(t, m.panics.WithLabelValues("asr")); n != 1 {
		t.Fatalf("sentio_pipeline_panics_total{stage=asr} = %v; want 1", n)
	}
	var panics []map[string]any
	for _, r := range logs.Records(t) {
		if r["level"] == "ERROR" {
			panics = append(panics, r)
		}
	}
	if len(panics) != 1 {
		t.Fatalf("%d error lines; want one for the panic: %v", len(panics), logs.Records(t))
	}
	r := panics[0]
	if r["stage"] != "asr" || !strings.Contains(fmt.Sprint(r["panic"]), "nil map") || r["stack"] != nil {
		t.Fatalf("panic log line %v; want stage asr, the panic value, no stack at info level", r)
	}
}

// At debug level the panic's line carries the stack.
func TestPanicStackAtDebugLevel(t *testing.T) {
	var logs testenv.LogBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr := NewTracker(Policy{MaxDeliver: 3}, log, nil)
	defer tr.Close()
	p := run(t, tr, Spec[int]{Stage: funcStage{"reason", func(ctx context.Context, it Item[int], out Emitter[int]) error {
		panic(errors.New("onnx said no"))
	}}})
	p.SetLogger(log)
	waitDone(t, submit(t, p, tr, &fakeInput{delivered: 1}, 0))
	for _, r := range logs.Records(t) {
		if r["level"] == "ERROR" {
			if s, _ := r["stack"].(string); !strings.Contains(s, "isolation_test.go") {
				t.Fatalf("stack %q does not show where the panic happened", s)
			}
			return
		}
	}
	t.Fatal("no error line for the panic")
}

// A panic in Tick or Close is logged and counted; the worker goes on after a Tick panic.
func TestPanicInTickAndCloseIsContained(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	tr := NewTracker(Policy{MaxDeliver: 3}, nil, m)
	defer tr.Close()
	s := &tickPanicker{funcStage: funcStage{"segment", func(ctx context.Context, it Item[int], out Emitter[int]) error { return nil }},
		ticked: make(chan struct{})}
	p := New[int](m, Spec[int]{Stage: s, Keyed: true, TickEvery: 10 * time.Millisecond})
	p.Start()
	select {
	case <-s.ticked:
	case <-time.After(5 * time.Second):
		t.Fatal("Tick never ran")
	}
	in := &fakeInput{delivered: 1}
	waitDone(t, submit(t, p, tr, in, 1))
	if in.acks != 1 {
		t.Fatalf("input after a Tick panic: acks=%d", in.acks)
	}
	p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("pipeline did not stop after a Close panic: %v", err)
	}
	if n := metricValue(t, m.panics.WithLabelValues("segment")); n != 2 {
		t.Fatalf("sentio_pipeline_panics_total{stage=segment} = %v; want 2 (Tick, Close)", n)
	}
}

// Deliveries that did not fail (the daemon crashed or stopped with the input in flight) do not
// count toward max_deliver: only failed deliveries do.
func TestOnlyFailedDeliveriesCountTowardMaxDeliver(t *testing.T) {
	tr := NewTracker(Policy{MaxDeliver: 3, NakDelay: time.Millisecond}, nil, nil)
	defer tr.Close()
	p := run(t, tr, Spec[int]{Stage: funcStage{"asr", func(ctx context.Context, it Item[int], out Emitter[int]) error {
		return errors.New("model busy")
	}}})
	// Delivered 7 times already, never failed: this first failure is Naked, not rejected.
	for d, want := range []string{"nak", "nak", "reject"} {
		in := &fakeInput{id: "AUDIO/42", delivered: uint64(7 + d)}
		waitDone(t, submit(t, p, tr, in, 0))
		got := "nak"
		if in.rejects == 1 {
			got = "reject"
		}
		if got != want || in.naks+in.rejects != 1 {
			t.Fatalf("failure %d (delivery %d): naks=%d rejects=%d; want %s", d+1, in.delivered, in.naks, in.rejects, want)
		}
		if want == "reject" && in.code != wire.ReasonMaxDeliveries+"@asr" {
			t.Fatalf("rejected as %q", in.code)
		}
	}
	// Another message is counted on its own.
	other := &fakeInput{id: "AUDIO/43", delivered: 9}
	waitDone(t, submit(t, p, tr, other, 0))
	if other.naks != 1 {
		t.Fatalf("another message's first failure: naks=%d rejects=%d", other.naks, other.rejects)
	}
}

// failingReject is an input whose DLQ write fails: like bus.Input, it Naks itself then.
type failingReject struct{ fakeInput }

func (f *failingReject) Reject(code, reason, stage string) error {
	f.mu.Lock()
	f.rejects++
	f.naks++
	f.mu.Unlock()
	return errors.New("writing the DLQ entry: no responders")
}

// A rejection whose DLQ entry could not be written settles as naked, and the failures recorded
// so far are kept: the input is rejected again when it fails again.
func TestFailedRejectKeepsTheInputPending(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	tr := NewTracker(Policy{MaxDeliver: 2, NakDelay: time.Millisecond}, nil, m)
	defer tr.Close()
	p := run(t, tr, Spec[int]{Stage: funcStage{"asr", func(ctx context.Context, it Item[int], out Emitter[int]) error {
		return errors.New("model busy")
	}}})
	first := &fakeInput{id: "AUDIO/7", delivered: 1}
	waitDone(t, submit(t, p, tr, first, 0))
	if first.naks != 1 {
		t.Fatalf("first failure: naks=%d rejects=%d", first.naks, first.rejects)
	}
	second := &failingReject{fakeInput{id: "AUDIO/7", delivered: 2}}
	txn := submit(t, p, tr, second, 0)
	waitDone(t, txn)
	if second.rejects != 1 || txn.Outcome() != Naked || metricValue(t, m.settledTot.WithLabelValues("naked")) != 2 {
		t.Fatalf("second failure, DLQ down: rejects=%d outcome %v; want a reject attempt, settled as naked (the input stays pending)",
			second.rejects, txn.Outcome())
	}
	third := &fakeInput{id: "AUDIO/7", delivered: 3}
	waitDone(t, submit(t, p, tr, third, 0))
	if third.rejects != 1 || third.code != wire.ReasonMaxDeliveries+"@asr" {
		t.Fatalf("redelivery after the failed reject: naks=%d rejects=%d; want rejected again", third.naks, third.rejects)
	}
}
