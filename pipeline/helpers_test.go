package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/daemon"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/langid"
	"github.com/sentio-health/sentio/reasoning"
	"github.com/sentio-health/sentio/segment"
	"github.com/sentio-health/sentio/wire"
)

// tone makes 16 kHz audio with a tone over each [start, end) second range, silence elsewhere.
func tone(total float64, ranges ...[2]float64) []float32 {
	pcm := make([]float32, int(total*segment.SampleRate))
	for _, r := range ranges {
		for i := int(r[0] * segment.SampleRate); i < int(r[1]*segment.SampleRate) && i < len(pcm); i++ {
			pcm[i] = float32(0.3 * math.Sin(2*math.Pi*300*float64(i)/segment.SampleRate))
		}
	}
	return pcm
}

func s16(pcm []float32) []byte {
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(max(-1, min(1, v))*32767)))
	}
	return b
}

// wav encodes mono 16-bit PCM at rate.
func wav(pcm []float32, rate int) []byte {
	data := s16(pcm)
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+len(data)))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, uint16(1))
	binary.Write(&b, binary.LittleEndian, uint16(1))
	binary.Write(&b, binary.LittleEndian, uint32(rate))
	binary.Write(&b, binary.LittleEndian, uint32(rate*2))
	binary.Write(&b, binary.LittleEndian, uint16(2))
	binary.Write(&b, binary.LittleEndian, uint16(16))
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

// fakeASR is a test double for whisper: it "hears" a fixed English sentence in any audio, can be
// gated (to hold work in flight) and can fail for chosen calls.
type fakeASR struct {
	calls atomic.Int32
	gate  chan struct{} // when non-nil, each call waits for a receive... or close
	// gated, when set, chooses the calls (numbered from 1) that wait for gate; nil: every call.
	gated func(n int32) bool
	fail  func(n int32) error
	// spanish makes it hear Spanish, a language outside the configured five, as whisper over all
	// its languages would.
	spanish bool
}

func (f *fakeASR) Transcribe(ctx context.Context, pcm []float32) (asr.Result, error) {
	n := f.calls.Add(1)
	if f.gate != nil && (f.gated == nil || f.gated(n)) {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return asr.Result{}, ctx.Err()
		}
	}
	if f.fail != nil {
		if err := f.fail(n); err != nil {
			return asr.Result{}, err
		}
	}
	if f.spanish {
		return asr.Result{Text: "Me siento mucho mejor hoy, gracias doctor.", Language: "fr", LanguageProb: 0.6,
			LanguageProbs: map[string]float32{"fr": 0.6, "en": 0.4}, Detected: "es", DetectedProb: 0.93,
			DurationMS: int64(len(pcm)) * 1000 / asr.SampleRate}, nil
	}
	return asr.Result{Text: "I feel much better today, thank you doctor.", Language: "en", LanguageProb: 0.9,
		LanguageProbs: map[string]float32{"en": 0.9, "de": 0.1}, DurationMS: int64(len(pcm)) * 1000 / asr.SampleRate}, nil
}

// fakeReasoner labels by keyword.
type fakeReasoner struct{}

func (fakeReasoner) Predict(ctx context.Context, in reasoning.Input) (reasoning.Result, error) {
	r := reasoning.Result{Lang: in.Lang, Label: reasoning.Neutral, Scores: reasoning.Scores{Negative: 0.1, Neutral: 0.8, Positive: 0.1},
		Rationale: "No strong sentiment."}
	if i := strings.Index(in.Text, "better"); i >= 0 {
		r.Label, r.Scores = reasoning.Positive, reasoning.Scores{Negative: 0.05, Neutral: 0.15, Positive: 0.8}
		r.Rationale = "The speaker feels better."
		r.Evidence = []reasoning.Evidence{{Start: i, End: i + 6, Text: "better", Weight: 1.5}}
	}
	return r, nil
}

// testLangID builds one language identifier for the test binary and keeps its error, so that every
// test asking for it fails (a t.Fatal inside a sync.Once failed the first test only and left
// the identifier nil for the others).
var testLangID = sync.OnceValues(func() (*langid.Identifier, error) { return langid.New(config.Defaults().LangID) })

func testParts(t testing.TB, a Transcriber) Parts {
	t.Helper()
	id, err := testLangID()
	if err != nil {
		t.Fatalf("langid: %v", err)
	}
	return Parts{ASR: a, VAD: segment.Energy{}, LangID: id, Reasoner: fakeReasoner{},
		Models: map[string]string{"asr": "fake", "reasoning": "fake", "langid": langid.Version, "vad": "energy"}}
}

func testConfig() *config.Config {
	cfg := config.Defaults()
	cfg.NATS.AckWait = 2 * time.Second
	cfg.NATS.MaxDeliver = 3
	cfg.Pipeline.QueueSize = 4
	cfg.Pipeline.IdleFlush = 2 * time.Second
	// The mechanics tests count on one ASR worker (a gated call holds the only one; "asr worker
	// 0 hung"); the default is one per core.
	cfg.Pipeline.ASRWorkers = 1
	return &cfg
}

type rig struct {
	t    testing.TB
	srv  *server.Server
	nc   *nats.Conn
	js   jetstream.JetStream
	cfg  *config.Config
	comp *Component
	reg  *prometheus.Registry
}

// connect connects to the NATS server at url, reconnecting without limit (tests restart it).
func connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	return testenv.Connect(t, url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
}

func logger(t testing.TB) *slog.Logger {
	if os.Getenv("SENTIO_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startComponent starts the pipeline component on a NATS URL.
func startComponent(t testing.TB, url string, cfg *config.Config, parts Parts, wrap func(Sink) Sink) (*Component, *prometheus.Registry) {
	t.Helper()
	nc, js := connect(t, url)
	comp := NewWithParts(cfg, parts)
	comp.wrapSink = wrap
	reg := prometheus.NewRegistry()
	env := &daemon.Env{Config: cfg, Logger: logger(t), NATS: nc, JetStream: js, Metrics: reg}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := comp.Start(ctx, env); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := comp.Drain(ctx); err != nil && !killedForTest(comp) {
			t.Errorf("draining the component at the end of the test: %v", err)
		}
	})
	return comp, reg
}

func newRig(t testing.TB, a Transcriber, wrap func(Sink) Sink) *rig {
	t.Helper()
	return newRigWith(t, testConfig(), a, wrap)
}

// newRigWith is newRig with the configuration cfg (testConfig with changes).
func newRigWith(t testing.TB, cfg *config.Config, a Transcriber, wrap func(Sink) Sink) *rig {
	t.Helper()
	srv := testenv.RunJetStream(t)
	comp, reg := startComponent(t, srv.ClientURL(), cfg, testParts(t, a), wrap)
	nc, js := connect(t, srv.ClientURL())
	return &rig{t: t, srv: srv, nc: nc, js: js, cfg: cfg, comp: comp, reg: reg}
}

// newExternalRig starts a NATS server and, with start, a daemon in another process on its URL,
// and returns a rig (no component of its own) once the daemon has made the audio stream,
// waiting up to wait for that.
func newExternalRig(t *testing.T, wait time.Duration, start func(url string)) *rig {
	t.Helper()
	srv := testenv.RunJetStream(t)
	start(srv.ClientURL())
	nc, js := connect(t, srv.ClientURL())
	cfg := testConfig()
	waitForStream(t, js, cfg.NATS.AudioStream, wait)
	return &rig{t: t, srv: srv, nc: nc, js: js, cfg: cfg}
}

func (r *rig) publish(subject string, h nats.Header, data []byte) {
	r.t.Helper()
	m := nats.NewMsg(subject)
	if h != nil {
		m.Header = h
	}
	m.Data = data
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.js.PublishMsg(ctx, m); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) clip(callID string, data []byte, extra map[string]string) {
	h := nats.Header{}
	h.Set(wire.HeaderCallID, callID)
	for k, v := range extra {
		h.Set(k, v)
	}
	r.publish(wire.Subject(r.cfg.NATS.AudioSubject, callID), h, data)
}

// collect(t, js, stream, filter, want, timeout) reads the messages on subject filter from stream
// until want have arrived or the timeout passes.
var collect = testenv.Collect

func results(t testing.TB, msgs []jetstream.Msg) []wire.Result {
	t.Helper()
	var out []wire.Result
	for _, m := range msgs {
		if err := wire.Validate(m.Data()); err != nil {
			t.Fatalf("published result fails schema v1: %v\n%s", err, m.Data())
		}
		if strings.HasSuffix(m.Subject(), "."+wire.SummarySuffix) {
			continue
		}
		var r wire.Result
		if err := json.Unmarshal(m.Data(), &r); err != nil {
			t.Fatal(err)
		}
		if m.Headers().Get(nats.MsgIdHdr) != r.UtteranceID {
			t.Fatalf("result %s published with Nats-Msg-Id %q", r.UtteranceID, m.Headers().Get(nats.MsgIdHdr))
		}
		out = append(out, r)
	}
	return out
}

// totals sums the partition consumers' state.
type totals struct {
	ackPending, redelivered int
	pending                 uint64
}

func (r *rig) totals() totals {
	r.t.Helper()
	var tt totals
	for p := 0; p < bus.Partitions; p++ {
		c, err := r.js.Consumer(context.Background(), r.cfg.NATS.AudioStream, bus.ConsumerName(r.cfg.NATS, p))
		if err != nil {
			r.t.Fatal(err)
		}
		info, err := c.Info(context.Background())
		if err != nil {
			r.t.Fatal(err)
		}
		tt.ackPending += info.NumAckPending
		tt.redelivered += info.NumRedelivered
		tt.pending += info.NumPending
	}
	return tt
}

// settled waits until the consumers have nothing pending or unacked.
func (r *rig) settled(timeout time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	var tt totals
	for time.Now().Before(deadline) {
		tt = r.totals()
		if tt.pending == 0 && tt.ackPending == 0 && tt.redelivered == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("consumers never settled: %+v", tt)
}

var errTransient = errors.New("transient test failure")

// killedComponents holds the components a test killed on purpose: their drain at the end of the test
// fails (their connection is closed), and that is no failure of the test.
var killedComponents sync.Map

func killedForTest(c *Component) bool { _, ok := killedComponents.Load(c); return ok }

// killForTest simulates the death of this instance: its NATS connection closes without draining,
// so nothing it holds is acked or naked, and its membership expires.
func (c *Component) killForTest() {
	killedComponents.Store(c, true)
	c.ready.Store(false)
	c.natsClose()
}

// resultsPerCall counts results per call id and reports every utterance id seen twice: a duplicate
// result is a delivery failure.
func resultsPerCall(t testing.TB, res []wire.Result) map[string]int {
	t.Helper()
	per := map[string]int{}
	ids := map[string]bool{}
	for _, x := range res {
		per[x.CallID]++
		if ids[x.UtteranceID] {
			t.Errorf("duplicate result %s (call %s)", x.UtteranceID, x.CallID)
		}
		ids[x.UtteranceID] = true
	}
	return per
}

// waitForStream waits until stream exists (a daemon under test creates its streams at start-up),
// failing the test after within.
func waitForStream(t *testing.T, js jetstream.JetStream, stream string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if _, err := js.Stream(context.Background(), stream); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not create stream %s within %v", stream, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dlqEntries reads every DLQ entry there is (waiting briefly for late ones) and describes them
// for a failure message.
func (r *rig) dlqEntries() ([]jetstream.Msg, string) {
	r.t.Helper()
	ms := collect(r.t, r.js, r.cfg.NATS.DLQStream, "sentio.dlq.>", 0, 200*time.Millisecond)
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "\n  %s %s (delivered %s): %s", m.Subject(), m.Headers().Get(wire.HeaderReasonCode),
			m.Headers().Get(wire.HeaderDelivered), m.Headers().Get(wire.HeaderReason))
	}
	return ms, b.String()
}

// callResults waits for want results of a call and returns them.
func (r *rig) callResults(callID string, want int, timeout time.Duration) []wire.Result {
	r.t.Helper()
	res := results(r.t, collect(r.t, r.js, r.cfg.NATS.ResultStream, wire.Subject("sentio.results", callID), want, timeout))
	if len(res) != want {
		r.t.Fatalf("%s: %d results; want %d", callID, len(res), want)
	}
	return res
}
