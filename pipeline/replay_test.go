package pipeline

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
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
	s := &publishStage{sink: sink, resultPfx: "sentio.results", calls: newCallCounter(), dedupe: 2 * time.Minute,
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
