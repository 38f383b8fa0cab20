package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// replayInput is an input delivered n times.
type replayInput struct{ n uint64 }

func (r replayInput) Ack() error                              { return nil }
func (r replayInput) Nak(time.Duration) error                 { return nil }
func (r replayInput) InProgress() error                       { return nil }
func (r replayInput) Delivered() uint64                       { return r.n }
func (r replayInput) Reject(code, reason, stage string) error { return nil }

// recordingSink holds a call's published results in memory.
type recordingSink struct {
	mu      sync.Mutex
	results []wire.Result
	reads   int
}

func (s *recordingSink) Publish(_ context.Context, _, _ string, data []byte) error {
	var r wire.Result
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results = append(s.results, r)
	return nil
}

func (s *recordingSink) CallResults(context.Context, string) ([]wire.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return append([]wire.Result(nil), s.results...), nil
}

// A stream utterance cut from redelivered chunks is not published again when a result of the
// same channel already covers most of its span (the instance that published it died before its
// acks went out, and the chunks that came back were cut elsewhere); one that covers new speech
// is published. First deliveries and clips cost no read of the results.
func TestReplayedStreamUtteranceIsPublishedOnce(t *testing.T) {
	sink := &recordingSink{}
	s := &publishStage{sink: sink, resultPfx: "sentio.results", calls: newCallCounter(time.Minute), dedupe: 2 * time.Minute,
		log: slog.New(slog.DiscardHandler), m: newMetrics(prometheus.NewRegistry())}
	tr := stages.NewTracker(stages.Policy{}, nil, nil)
	defer tr.Close()
	ms := func(v int64) int64 { return v * asr.SampleRate / 1000 }
	publish := func(mode wire.Mode, ch int, startMS, endMS int64, delivered uint64) {
		t.Helper()
		w := &Work{CallID: "c", Mode: mode, Channel: ch, Start: ms(startMS), PCM: make([]float32, ms(endMS-startMS)), Arrived: time.Now(),
			ASR: asr.Result{Text: "x"}}
		if mode == wire.ModeClip {
			w.Clip = 7
		}
		s.calls.add("c", 1)
		if err := s.Process(context.Background(), 0, stages.Item[*Work]{V: w, Deps: []*stages.Txn{tr.Begin(replayInput{delivered})}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	publish(wire.ModeStream, 0, 5340, 7050, 1)
	publish(wire.ModeStream, 1, 5340, 7050, 1)
	if sink.reads != 0 {
		t.Fatalf("first deliveries read the call's results %d times; want 0", sink.reads)
	}
	publish(wire.ModeStream, 0, 6000, 7100, 2) // the tail of the first one, cut elsewhere
	if len(sink.results) != 2 {
		t.Fatalf("%d results after a replayed part of a published utterance; want 2", len(sink.results))
	}
	publish(wire.ModeStream, 0, 6800, 9000, 2) // mostly new speech
	if len(sink.results) != 3 {
		t.Fatalf("%d results after a replayed utterance of mostly new speech; want 3", len(sink.results))
	}
	publish(wire.ModeClip, 0, 5340, 7050, 2) // another recording under the call id (a clip)
	if len(sink.results) != 4 {
		t.Fatalf("%d results after a redelivered clip's utterance with its own id; want 4", len(sink.results))
	}
}

// replayFailSink fails the first publish of the utterance that starts before failBefore ms, once
// an utterance starting at or after waitFor ms has been published: the first utterance's chunks
// come back while the second one's are acked.
type replayFailSink struct {
	Sink
	failBefore, waitFor int64
	mu                  sync.Mutex
	failed              bool
	returned            atomic.Bool // the failure was returned
	second              chan struct{}
	secondOnce          sync.Once
}

func (s *replayFailSink) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	var r wire.Result
	if err := json.Unmarshal(data, &r); err == nil && r.UtteranceID != "" {
		s.mu.Lock()
		fail := !s.failed && r.StartMS < s.failBefore
		s.failed = s.failed || fail
		s.mu.Unlock()
		if fail {
			select {
			case <-s.second:
			case <-ctx.Done():
			}
			s.returned.Store(true)
			return errors.New("test: the first utterance's publish fails once")
		}
		if r.StartMS >= s.waitFor {
			err := s.Sink.Publish(ctx, subject, msgID, data)
			s.secondOnce.Do(func() { close(s.second) })
			return err
		}
	}
	return s.Sink.Publish(ctx, subject, msgID, data)
}

// A stream utterance that fails after a later utterance of its call was published comes back
// (its chunks are Naked) while the later one's chunks are acked for good: the call is replayed
// from the redelivered chunks, the chunks already published are no sequence gap, and the
// summary counts the replayed utterance. CI saw a sequence_gap DLQ entry and a 50 s stall for
// exactly this after a failover; the summary went out without the failed utterance.
func TestStreamReplayAfterAFailedUtteranceSkipsChunksAlreadyPublished(t *testing.T) {
	// The rest of the call comes after the replay began: its chunks wait behind the hole.
	t.Run("mid-stream", func(t *testing.T) { testStreamReplayHole(t, true) })
	// The End came before the replay: the summary waits for the replayed utterance.
	t.Run("after the end", func(t *testing.T) { testStreamReplayHole(t, false) })
}

func testStreamReplayHole(t *testing.T, midStream bool) {
	sink := &replayFailSink{failBefore: 1000, waitFor: 2800, second: make(chan struct{})}
	r := newRig(t, &fakeASR{}, func(s Sink) Sink { sink.Sink = s; return sink })
	cs := chunks("replay-hole", threeBursts, 200)
	if !midStream {
		r.sendChunks(cs)
	} else {
		r.sendChunks(cs[:30]) // up to the middle of the third burst
		within(t, 20*time.Second, "the first utterance to fail after the second was published", sink.returned.Load)
		within(t, 20*time.Second, "the first utterance's chunks to be redelivered", func() bool { return r.totals().redelivered > 0 })
		r.sendChunks(cs[30:])
	}
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.replay-hole", 3, 20*time.Second))
	if len(res) != 3 {
		t.Fatalf("got %d results; want 3", len(res))
	}
	if st := starts(res); st[0] > 500 || st[1] < 2800 || st[1] > 3100 || st[2] < 5200 || st[2] > 5500 {
		t.Fatalf("utterances start at %v ms", st)
	}
	if !sink.returned.Load() {
		t.Fatal("the first utterance's publish never failed: the test tested nothing")
	}
	if s := summaryOf(t, r, "replay-hole"); s.Utterances != 3 {
		t.Fatalf("summary counts %d utterances; want 3", s.Utterances)
	}
	r.settled(10 * time.Second)
	if dlq, desc := r.dlqEntries(); len(dlq) != 0 {
		t.Fatalf("DLQ holds %d entries for a replayed call:%s", len(dlq), desc)
	}
}

// A clip's summary waits for an utterance that failed: the clip comes back whole and the
// summary, given up meanwhile, counts every utterance (it went out without the failed one, and
// JetStream's dedupe then kept that summary).
func TestClipSummaryCountsAnUtteranceThatFailedOnce(t *testing.T) {
	sink := &replayFailSink{failBefore: 1000, waitFor: 2800, second: make(chan struct{})}
	r := newRig(t, &fakeASR{}, func(s Sink) Sink { sink.Sink = s; return sink })
	r.clip("clip-fail", wav(threeBursts, 16000), map[string]string{wire.HeaderEnd: "true"})
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.clip-fail", 3, 20*time.Second))
	if len(res) != 3 {
		t.Fatalf("got %d results; want 3", len(res))
	}
	if !sink.returned.Load() {
		t.Fatal("the first utterance's publish never failed: the test tested nothing")
	}
	if s := summaryOf(t, r, "clip-fail"); s.Utterances != 3 {
		t.Fatalf("summary counts %d utterances; want 3", s.Utterances)
	}
	r.settled(10 * time.Second)
}
