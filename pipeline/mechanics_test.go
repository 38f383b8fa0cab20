package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/bus"

	"github.com/sentio-health/sentio/wire"
)

// A clip of three bursts gives three results with every field, valid against the schema, and the
// input is acked.
func TestClipGivesOneResultPerUtterance(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	r.clip("clip-1", wav(tone(6, [2]float64{0.5, 1.5}, [2]float64{2.5, 3.2}, [2]float64{4.5, 5.5}), 16000),
		map[string]string{wire.HeaderRole: "patient"})
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.clip-1", 3, 10*time.Second))
	if len(res) != 3 {
		t.Fatalf("got %d results; want 3", len(res))
	}
	for _, x := range res {
		if x.CallID != "clip-1" || x.Role != "patient" || x.Mode != wire.ModeClip || x.Label != "positive" ||
			x.Language != "en" || !x.LanguageSupported || x.Rationale == "" || len(x.Evidence) == 0 ||
			x.TimingsMS["asr"] <= 0 || x.TimingsMS["total"] <= 0 || x.Models["asr"] == "" || x.EndMS <= x.StartMS {
			t.Fatalf("incomplete result: %+v", x)
		}
	}
	if st := starts(res); st[0] > 500 || st[1] < 2000 || st[1] > 2600 || st[2] < 4000 {
		t.Fatalf("utterances misplaced: %v ms", st)
	}
	r.settled(5 * time.Second)
}

// Speech in a language outside the configured set is published, flagged unsupported and without
// sentiment, and its input is acked: not dropped, not sent to the DLQ.
func TestUnsupportedLanguageIsPublishedWithoutSentiment(t *testing.T) {
	r := newRig(t, &fakeASR{spanish: true}, nil)
	r.clip("spanish", wav(tone(2, [2]float64{0.5, 1.5}), 16000), nil)
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.spanish", 1, 10*time.Second))
	if len(res) != 1 {
		t.Fatalf("got %d results; want 1", len(res))
	}
	x := res[0]
	if x.LanguageSupported || x.Language != "es" || x.LanguageSource != wire.SourceWhisper ||
		x.Label != "" || len(x.Scores) != 0 || len(x.Evidence) != 0 || x.Transcript == "" {
		t.Fatalf("unsupported-language result: %+v", x)
	}
	r.settled(5 * time.Second)
}

// gatedSink holds every publish until released, to observe the ack waiting for the PubAck.
type gatedSink struct {
	Sink
	release chan struct{}
	mu      sync.Mutex
	waiting int // publishes held at the gate
	n       int // publishes done (PubAck received or failed)
}

func (g *gatedSink) Publish(ctx context.Context, subject, id string, data []byte) error {
	g.mu.Lock()
	g.waiting++
	g.mu.Unlock()
	<-g.release
	err := g.Sink.Publish(ctx, subject, id, data)
	g.mu.Lock()
	g.waiting--
	g.n++
	g.mu.Unlock()
	return err
}

func (g *gatedSink) counts() (waiting, done int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting, g.n
}

func TestInputAckedOnlyAfterEveryResultIsPublished(t *testing.T) {
	g := &gatedSink{release: make(chan struct{})}
	r := newRig(t, &fakeASR{}, func(s Sink) Sink { g.Sink = s; return g })
	r.clip("held", wav(tone(4, [2]float64{0.5, 1.2}, [2]float64{2.5, 3.2}), 16000), nil)
	unsettled := func(when string) {
		t.Helper()
		if n := sumMetric(t, r.reg, "sentio_pipeline_inputs_settled_total"); n != 0 {
			t.Fatalf("input settled %s (sentio_pipeline_inputs_settled_total %v)", when, n)
		}
		if tt := r.totals(); tt.ackPending != 1 {
			t.Fatalf("input acked %s: %+v", when, tt)
		}
	}
	within(t, 10*time.Second, "both results to reach the publish gate", func() bool { w, _ := g.counts(); return w == 2 })
	unsettled("before its results were published")
	g.release <- struct{}{} // the first result only
	within(t, 10*time.Second, "the first result to be published", func() bool { _, n := g.counts(); return n == 1 })
	within(t, 10*time.Second, "the publish stage to finish the first result", func() bool {
		return stageMetric(t, r.reg, "sentio_pipeline_stage_processed_total", StagePublish) == 1
	})
	unsettled("after one of its two results")
	close(g.release)
	r.settled(5 * time.Second)
	if _, n := g.counts(); n != 2 {
		t.Fatalf("%d results published; want 2", n)
	}
}

// stageMetric is the value of the counter or gauge name for one stage.
func stageMetric(t *testing.T, reg *prometheus.Registry, name, stage string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "stage" && l.GetValue() == stage {
					return m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

// Bad input: each gives exactly one DLQ entry with a reason code and the original headers, and a
// good clip published among them is served.
func TestBadInputGoesToTheDLQOnceEach(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	good := wav(tone(2, [2]float64{0.3, 1.2}), 16000)
	truncated := wav(tone(2, [2]float64{0.3, 1.2}), 16000)
	truncated = truncated[:len(truncated)/2]
	cases := []struct {
		call, code string
		data       []byte
		h          map[string]string
	}{
		{"not-audio", wire.ReasonNotAudio, []byte("this is a text file, not audio at all"), nil},
		{"truncated", wire.ReasonTruncated, truncated, nil},
		{"wrong-rate", wire.ReasonBadRate, good, map[string]string{wire.HeaderRate: "8000"}},
		{"absurd-rate", wire.ReasonBadRate, s16(tone(1, [2]float64{0, 1})), map[string]string{wire.HeaderCodec: "pcm_s16le", wire.HeaderRate: "12"}},
		{"empty", wire.ReasonEmpty, nil, nil},
		{"oversized", wire.ReasonTooLarge, wav(make([]float32, 100), 16000), nil}, // replaced below
		{"bad-mode", wire.ReasonBadHeader, good, map[string]string{wire.HeaderMode: "burst"}},
		{"no-seq", wire.ReasonMissingHeader, s16(tone(0.2)), map[string]string{wire.HeaderMode: "stream", wire.HeaderCodec: "pcm_s16le", wire.HeaderRate: "16000"}},
		{"no-codec", wire.ReasonMissingHeader, s16(tone(0.2)), map[string]string{wire.HeaderMode: "stream", wire.HeaderSeq: "0", wire.HeaderRate: "16000"}},
		{"no-rate", wire.ReasonMissingHeader, s16(tone(0.2)), map[string]string{wire.HeaderMode: "stream", wire.HeaderSeq: "0", wire.HeaderCodec: "pcm_s16le"}},
		{"odd-bytes", wire.ReasonTruncated, s16(tone(0.2))[:101], map[string]string{wire.HeaderMode: "stream", wire.HeaderSeq: "0", wire.HeaderCodec: "pcm_s16le", wire.HeaderRate: "16000"}},
		{"missing-object", wire.ReasonObjectNotFound, nil, map[string]string{wire.HeaderObject: "sentio-audio/nope"}},
	}
	// Oversized: longer than MaxClip (8 kHz mu-law, 1 byte per sample), too large for one
	// message, so it goes through the object store as publishers are told to.
	os, err := bus.ObjectStore(context.Background(), r.js, r.cfg.NATS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.PutBytes(context.Background(), "oversized", make([]byte, int(MaxClip(r.cfg).Seconds()+10)*8000)); err != nil {
		t.Fatal(err)
	}
	cases[5].data = nil
	cases[5].h = map[string]string{wire.HeaderCodec: "mulaw", wire.HeaderObject: bus.ObjectBucket + "/oversized"}
	for i, c := range cases {
		h := map[string]string{"X-Test-Case": c.call}
		for k, v := range c.h {
			h[k] = v
		}
		r.clip(c.call, c.data, h)
		if i == len(cases)/2 {
			r.clip("good", good, nil)
		}
	}
	dlq := collect(t, r.js, r.cfg.NATS.DLQStream, "sentio.dlq.>", len(cases), 20*time.Second)
	byCall := map[string][]jetstream.Msg{}
	for _, m := range dlq {
		byCall[wire.CallID(m.Subject())] = append(byCall[wire.CallID(m.Subject())], m)
	}
	for _, c := range cases {
		ms := byCall[c.call]
		if len(ms) != 1 {
			t.Errorf("%s: %d DLQ entries; want 1", c.call, len(ms))
			continue
		}
		h := ms[0].Headers()
		if h.Get(wire.HeaderReasonCode) != c.code || h.Get(wire.HeaderReason) == "" || h.Get("X-Test-Case") != c.call ||
			h.Get(wire.HeaderSubject) != "sentio.audio."+c.call || h.Get(wire.HeaderStage) == "" {
			t.Errorf("%s: DLQ headers %v; want code %s, a reason, the original headers", c.call, h, c.code)
		}
	}
	if len(dlq) != len(cases) {
		t.Errorf("DLQ holds %d entries; want %d", len(dlq), len(cases))
	}
	if res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.good", 1, 5*time.Second)); len(res) != 1 {
		t.Fatalf("the good clip among bad ones gave %d results", len(res))
	}
	r.settled(5 * time.Second)
}

// A transient failure on every delivery ends in the DLQ with max_deliveries after max_deliver
// attempts; other work goes on.
func TestMaxDeliverEndsInTheDLQ(t *testing.T) {
	f := &fakeASR{fail: func(int32) error { return errTransient }}
	r := newRig(t, f, nil)
	r.clip("always-fails", wav(tone(1.5, [2]float64{0.2, 1.0}), 16000), nil)
	dlq := collect(t, r.js, r.cfg.NATS.DLQStream, "sentio.dlq.always-fails", 1, 30*time.Second)
	if len(dlq) != 1 {
		t.Fatalf("%d DLQ entries; want 1", len(dlq))
	}
	h := dlq[0].Headers()
	if h.Get(wire.HeaderReasonCode) != wire.ReasonMaxDeliveries || !strings.Contains(h.Get(wire.HeaderReason), errTransient.Error()) ||
		h.Get(wire.HeaderDelivered) != fmt.Sprint(r.cfg.NATS.MaxDeliver) || h.Get(wire.HeaderStage) != StageASR {
		t.Fatalf("DLQ headers %v", h)
	}
	// 3 deliveries × (1 + 1 in-place retry)
	if n := f.calls.Load(); n != int32(2*r.cfg.NATS.MaxDeliver) {
		t.Fatalf("transcribed %d times; want %d", n, 2*r.cfg.NATS.MaxDeliver)
	}
	r.settled(5 * time.Second)
}

// With ASR stuck, the daemon takes only what its queues hold: the rest stays in the stream.
func TestBackpressureBoundsWorkInFlight(t *testing.T) {
	f := &fakeASR{gate: make(chan struct{})}
	r := newRig(t, f, nil)
	const n = 60
	clip := wav(tone(1, [2]float64{0.2, 0.8}), 16000)
	for i := 0; i < n; i++ {
		r.clip(fmt.Sprintf("bp-%d", i), clip, nil)
	}
	// The pipeline is full: the ASR worker holds a clip and the queues in front of it and of the
	// segment stage are full (its worker blocked handing on the next one).
	within(t, 10*time.Second, "the pipeline to fill up", func() bool {
		full := float64(r.cfg.Pipeline.QueueSize)
		return f.calls.Load() == 1 && stageMetric(t, r.reg, "sentio_pipeline_stage_queue_depth", StageASR) == full &&
			stageMetric(t, r.reg, "sentio_pipeline_stage_queue_depth", StageSegment) == full
	})
	// segment queue 4 + 1 worker + asr queue 4 + 1 worker, and per partition an iterator
	// buffer of 1 and a handler blocked with 1.
	limit := 4 + 1 + 4 + 1 + bus.Partitions*2
	if tt := r.totals(); tt.ackPending > limit || tt.pending < uint64(n-limit) {
		t.Fatalf("with ASR stuck the consumers took %d messages (%d left in the stream); want at most %d", tt.ackPending, tt.pending, limit)
	}
	close(f.gate)
	if res := collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.>", n, 30*time.Second); len(res) != n {
		t.Fatalf("%d results after the ASR was released; want %d", len(res), n)
	}
	r.settled(10 * time.Second)
}

// Drain finishes what is in flight and acks it before returning.
func TestDrainFinishesInFlightWork(t *testing.T) {
	f := &fakeASR{gate: make(chan struct{})}
	r := newRig(t, f, nil)
	for i := 0; i < 5; i++ {
		r.clip(fmt.Sprintf("drain-%d", i), wav(tone(1, [2]float64{0.2, 0.8}), 16000), nil)
	}
	within(t, 10*time.Second, "the five clips to be taken in, one held by the ASR", func() bool {
		return f.calls.Load() == 1 && sumMetric(t, r.reg, "sentio_pipeline_inputs_in_flight") == 5
	})
	// The ASR is let go once the drain has begun (the component stops being ready first).
	go func() {
		for r.comp.ready.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		close(f.gate)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.comp.Drain(ctx); err != nil {
		t.Fatalf("drain: %v", err)
	}
	if res := collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.>", 5, 2*time.Second); len(res) != 5 {
		t.Fatalf("%d results after the drain; want 5", len(res))
	}
	r.settled(3 * time.Second)
}

// A clip larger than the maximum payload travels through the object store.
func TestLargeClipThroughTheObjectStore(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	big := wav(tone(40, [2]float64{1, 3}, [2]float64{30, 33}), 16000)
	if int64(len(big)) <= r.nc.MaxPayload() {
		t.Fatalf("test clip of %d bytes fits in one message (max %d)", len(big), r.nc.MaxPayload())
	}
	os, err := bus.ObjectStore(context.Background(), r.js, r.cfg.NATS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.PutBytes(context.Background(), "big-clip", big); err != nil {
		t.Fatal(err)
	}
	r.clip("big", nil, map[string]string{wire.HeaderObject: bus.ObjectBucket + "/big-clip"})
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.big", 2, 20*time.Second))
	if st := starts(res); len(res) != 2 || st[0] > 1000 || st[1] < 29000 {
		t.Fatalf("%d results: %v", len(res), st)
	}
	r.settled(5 * time.Second)
}
