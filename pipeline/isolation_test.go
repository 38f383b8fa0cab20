package pipeline

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/reasoning"
	"github.com/sentio-health/sentio/wire"
)

// sumMetric adds up the samples of a counter or gauge family in reg.
func sumMetric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return n
}

// within(t, d, what, cond) polls cond every 20ms until it holds, failing the test after d.
var within = testenv.Eventually

// gatedReasoner blocks each call until gate is closed, as a stuck ONNX Runtime call would.
type gatedReasoner struct {
	gate  chan struct{}
	calls atomic.Int32
}

func (g *gatedReasoner) Predict(ctx context.Context, in reasoning.Input) (reasoning.Result, error) {
	g.calls.Add(1)
	<-g.gate // whisper.cpp and ONNX Runtime do not look at ctx either
	return fakeReasoner{}.Predict(ctx, in)
}

// A model call past its deadline (asr.call_timeout, reasoning.call_timeout) marks the worker
// hung: the component is neither ready nor alive (the daemon stops feeding the systemd
// watchdog), and the input is neither acked nor rejected. If the call returns after all, the
// utterance goes on.
func TestHungModelCallMarksTheDaemonNotAlive(t *testing.T) {
	for _, stage := range []string{StageASR, StageReason} {
		t.Run(stage, func(t *testing.T) {
			const deadline = 300 * time.Millisecond
			gate := make(chan struct{})
			var open sync.Once
			f := &fakeASR{}
			parts := testParts(t, f)
			g := &gatedReasoner{gate: gate}
			cfg := testConfig()
			started := func() bool { return f.calls.Load() > 0 }
			if stage == StageASR {
				f.gate = gate
				cfg.ASR.CallTimeout = deadline
			} else {
				parts.Reasoner = g
				cfg.Reasoning.CallTimeout = deadline
				started = func() bool { return g.calls.Load() > 0 }
			}
			srv := testenv.RunJetStream(t)
			comp, reg := startComponent(t, srv.ClientURL(), cfg, parts, nil)
			// Before the component's drain (cleanups run last first): a gated call ignores ctx.
			t.Cleanup(func() { open.Do(func() { close(gate) }) })
			nc, js := connect(t, srv.ClientURL())
			r := &rig{t: t, srv: srv, nc: nc, js: js, cfg: cfg, comp: comp, reg: reg}
			if err := comp.Ready(); err != nil {
				t.Fatalf("not ready at start: %v", err)
			}
			r.clip("hang", wav(tone(1.5, [2]float64{0.2, 1.0}), 16000), nil)
			within(t, 10*time.Second, "the model call to start", started)
			t0 := time.Now()
			within(t, deadline+2*time.Second, "readiness to turn false", func() bool { return comp.Ready() != nil })
			if err := comp.Ready(); !strings.Contains(err.Error(), stage+" worker 0 hung") {
				t.Fatalf("Ready() = %v; want it to name the hung worker", err)
			}
			if err := comp.Alive(); err == nil {
				t.Fatal("Alive() is nil with a hung worker: the systemd watchdog would still be fed")
			}
			t.Logf("not ready %v after the call started (deadline %v)", time.Since(t0).Round(time.Millisecond), deadline)
			within(t, 5*time.Second, "sentio_pipeline_stage_hung_calls to be 1", func() bool {
				return sumMetric(t, reg, "sentio_pipeline_stage_hung_calls") == 1
			})
			// The hung input is in flight, not acked and not in the DLQ (it is redelivered after
			// the restart).
			if tt := r.totals(); tt.ackPending != 1 {
				t.Fatalf("consumers %+v; want the hung input unacked", tt)
			}
			if dlq := collect(t, js, cfg.NATS.DLQStream, "sentio.dlq.>", 0, 300*time.Millisecond); len(dlq) != 0 {
				t.Fatalf("%d DLQ entries for a hung call", len(dlq))
			}
			open.Do(func() { close(gate) })
			within(t, 5*time.Second, "readiness after the call returned", func() bool { return comp.Ready() == nil })
			if res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results.hang", 1, 10*time.Second)); len(res) != 1 {
				t.Fatalf("%d results after the call returned; want 1", len(res))
			}
			r.settled(10 * time.Second)
		})
	}
}

// panickyASR panics on its first call, as a bug in the whisper.cpp binding would.
type panickyASR struct {
	fakeASR
	n atomic.Int32
}

func (p *panickyASR) Transcribe(ctx context.Context, pcm []float32) (asr.Result, error) {
	if p.n.Add(1) == 1 {
		panic("whisper binding: index out of range")
	}
	return p.fakeASR.Transcribe(ctx, pcm)
}

// A panic in a stage sends that utterance's input to the DLQ as internal_error; the other input
// in flight gets its result, and the daemon stays up and ready.
func TestPanicInAStageGoesToTheDLQ(t *testing.T) {
	r := newRig(t, &panickyASR{}, nil)
	clip := wav(tone(1.5, [2]float64{0.2, 1.0}), 16000)
	r.clip("panic-a", clip, nil)
	r.clip("panic-b", clip, nil)
	dlq := collect(t, r.js, r.cfg.NATS.DLQStream, "sentio.dlq.>", 1, 15*time.Second)
	if len(dlq) != 1 {
		t.Fatalf("%d DLQ entries; want 1", len(dlq))
	}
	h := dlq[0].Headers()
	if h.Get(wire.HeaderReasonCode) != wire.ReasonInternal || h.Get(wire.HeaderStage) != StageASR ||
		!strings.Contains(h.Get(wire.HeaderReason), "index out of range") {
		t.Fatalf("DLQ headers %v; want internal_error from asr with the panic", h)
	}
	other := "panic-a"
	if h.Get(wire.HeaderCallID) == "panic-a" || strings.HasSuffix(dlq[0].Subject(), ".panic-a") {
		other = "panic-b"
	}
	if res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results."+other, 1, 15*time.Second)); len(res) != 1 {
		t.Fatalf("the input beside the panic (%s) has %d results; want 1", other, len(res))
	}
	if err := r.comp.Ready(); err != nil {
		t.Fatalf("not ready after a panic: %v", err)
	}
	if n := sumMetric(t, r.reg, "sentio_pipeline_panics_total"); n != 1 {
		t.Fatalf("sentio_pipeline_panics_total = %v; want 1", n)
	}
	r.settled(10 * time.Second)
}

// An input delivered max_deliver times without failing (the daemon crashed or was stopped with it
// in flight each time) is processed normally afterwards, and one transient failure then is
// retried: only failed deliveries count toward max_deliver.
func TestCrashRedeliveriesAreNotFailures(t *testing.T) {
	srv := testenv.RunJetStream(t)
	cfg := testConfig()
	nc, js := connect(t, srv.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := bus.Setup(ctx, js, cfg.NATS); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, srv: srv, nc: nc, js: js, cfg: cfg}
	r.clip("survivor", wav(tone(1.5, [2]float64{0.2, 1.0}), 16000), nil)

	// What crashes do to the input: deliveries that end without an ack (Naked at once here,
	// rather than waiting out the ack wait each time).
	name := bus.ConsumerName(cfg.NATS, bus.PartitionOf("survivor"))
	cons, err := js.Consumer(ctx, cfg.NATS.AudioStream, name)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= cfg.NATS.MaxDeliver; i++ {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second), jetstream.FetchPriorityGroup(bus.PriorityGroup))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			if meta, _ := m.Metadata(); meta == nil || meta.NumDelivered != uint64(i) {
				t.Fatalf("delivery %d: metadata %+v", i, meta)
			}
			if err := m.Nak(); err != nil {
				t.Fatal(err)
			}
		}
		if got != 1 {
			t.Fatalf("delivery %d: got %d messages (%v)", i, got, batch.Error())
		}
	}
	stream, err := js.Stream(ctx, cfg.NATS.AudioStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.UnpinConsumer(ctx, name, bus.PriorityGroup); err != nil {
		t.Fatal(err)
	}

	// The daemon comes back; its ASR fails once on the input (both in-place attempts).
	f := &fakeASR{fail: func(n int32) error {
		if n <= 2 {
			return errTransient
		}
		return nil
	}}
	comp, _ := startComponent(t, srv.ClientURL(), cfg, testParts(t, f), nil)
	r.comp = comp
	if res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results.survivor", 1, 30*time.Second)); len(res) != 1 {
		dlq := collect(t, js, cfg.NATS.DLQStream, "sentio.dlq.>", 0, 500*time.Millisecond)
		for _, m := range dlq {
			t.Logf("DLQ entry: %v", m.Headers())
		}
		t.Fatalf("%d results for an input whose deliveries were cut short %d times, then failed once; want 1 (and %d DLQ entries, want 0)",
			len(res), cfg.NATS.MaxDeliver, len(dlq))
	}
	if dlq := collect(t, js, cfg.NATS.DLQStream, "sentio.dlq.>", 0, 300*time.Millisecond); len(dlq) != 0 {
		t.Fatalf("DLQ entry for an input that never failed max_deliver times: %v", dlq[0].Headers())
	}
	r.settled(10 * time.Second)
}

// While the DLQ cannot be written, a rejected input stays pending (never terminated without its
// DLQ entry), also past the old delivery limit, and each failed write is counted; once the DLQ is
// back, the entry is written and the input settles.
func TestDLQOutageKeepsTheInputPending(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := r.js.DeleteStream(ctx, r.cfg.NATS.DLQStream); err != nil {
		t.Fatal(err)
	}
	r.clip("garbage", []byte("this is not audio, and the DLQ is gone"), nil)
	cons, err := r.js.Consumer(ctx, r.cfg.NATS.AudioStream, bus.ConsumerName(r.cfg.NATS, bus.PartitionOf("garbage")))
	if err != nil {
		t.Fatal(err)
	}
	info := func() *jetstream.ConsumerInfo {
		i, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	// Before: MaxDeliver was max_deliver + 1, so after that many failed DLQ writes JetStream
	// stopped delivering the input, and it was lost.
	want := uint64(r.cfg.NATS.MaxDeliver + 2)
	deadline := time.Now().Add(60 * time.Second)
	for info().Delivered.Consumer < want {
		if time.Now().After(deadline) {
			t.Fatalf("the input was delivered %d times in 60s while its DLQ entry could not be written; want >= %d (consumer %+v)",
				info().Delivered.Consumer, want, info())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if i := info(); i.AckFloor.Stream != 0 {
		t.Fatalf("the input was acked or terminated without its DLQ entry (ack floor %d)", i.AckFloor.Stream)
	}
	if n := sumMetric(t, r.reg, "sentio_dlq_publish_failures_total"); n < 2 {
		t.Fatalf("sentio_dlq_publish_failures_total = %v after %d deliveries; want >= 2", n, want)
	}
	// The DLQ is back.
	if _, err := bus.Setup(ctx, r.js, r.cfg.NATS); err != nil {
		t.Fatal(err)
	}
	dlq := collect(t, r.js, r.cfg.NATS.DLQStream, "sentio.dlq.garbage", 1, 30*time.Second)
	if len(dlq) != 1 || dlq[0].Headers().Get(wire.HeaderReasonCode) != wire.ReasonNotAudio {
		t.Fatalf("%d DLQ entries once the DLQ is back; want 1 not_audio", len(dlq))
	}
	r.settled(15 * time.Second)
}
