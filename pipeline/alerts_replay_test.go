package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/langid"
	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// crashingEventSink keeps results and events apart and fails the first event publish, as a
// daemon that died between a result's PubAck and its events would (mechanics only).
type crashingEventSink struct {
	results []wire.Result
	events  map[string][]byte // by Nats-Msg-Id, as JetStream's dedupe keeps them
	failed  bool
}

func (s *crashingEventSink) Publish(_ context.Context, subject, id string, data []byte) error {
	if strings.HasPrefix(subject, "sentio.events.") {
		if !s.failed {
			s.failed = true
			return errors.New("connection lost")
		}
		s.events[id] = data
		return nil
	}
	var r wire.Result
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	for _, p := range s.results {
		if p.UtteranceID == r.UtteranceID {
			return nil // a duplicate
		}
	}
	s.results = append(s.results, r)
	return nil
}

func (s *crashingEventSink) CallResults(context.Context, string) ([]wire.Result, error) {
	return append([]wire.Result(nil), s.results...), nil
}

// An utterance whose result was published but whose event was not (the event publish failed:
// the input is retried) gets its event on the redelivery, which finds the result published and
// does not publish it again: nothing lost, nothing doubled.
func TestReplayedUtterancePublishesItsEvents(t *testing.T) {
	cfg := testConfig()
	cfg.Alerts.Rules = []config.AlertRule{{Name: "cancel", Kind: config.AlertPhrase, Phrases: map[string][]string{"en": {"cancel my appointment"}}}}
	sink := &crashingEventSink{events: map[string][]byte{}}
	s := &publishStage{sink: sink, resultPfx: "sentio.results", calls: newCallCounter(time.Minute), dedupe: 2 * time.Minute,
		log: slog.New(slog.DiscardHandler), m: newMetrics(prometheus.NewRegistry()), alerts: newAlerter(cfg, sink, nil, nil)}
	tr := stages.NewTracker(stages.Policy{}, nil, nil)
	defer tr.Close()
	process := func(delivered uint64) error {
		w := &Work{CallID: "c", Mode: wire.ModeStream, Role: "customer", Start: asr.SampleRate, PCM: make([]float32, asr.SampleRate), Arrived: time.Now(),
			ASR: asr.Result{Text: "I want to cancel my appointment."}, Lang: langid.Decision{Language: "en", Supported: true}}
		s.calls.add("c", 1)
		return s.Process(context.Background(), 0, stages.Item[*Work]{V: w, Deps: []*stages.Txn{tr.Begin(replayInput{delivered})}}, nil)
	}
	if err := process(1); err == nil {
		t.Fatal("the event publish failed, yet Process reported success (the input would be acked without its event)")
	}
	if len(sink.results) != 1 || len(sink.events) != 0 {
		t.Fatalf("after the failed event: %d results, %d events; want 1 and 0", len(sink.results), len(sink.events))
	}
	if err := process(2); err != nil {
		t.Fatal(err)
	}
	if err := process(3); err != nil { // once more: the same event id
		t.Fatal(err)
	}
	if len(sink.results) != 1 || len(sink.events) != 1 {
		t.Fatalf("after the redeliveries: %d results, %d events; want 1 and 1", len(sink.results), len(sink.events))
	}
}

// slowSink holds the PubAck of one result until released (mechanics only), and keeps results
// and events.
type slowSink struct {
	mu       sync.Mutex
	slowID   string
	entered  chan struct{}
	release  chan struct{}
	results  []wire.Result
	silences []string // the utterances of the silence events
}

func (s *slowSink) Publish(_ context.Context, subject, id string, data []byte) error {
	if id == s.slowID {
		close(s.entered)
		<-s.release
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(subject, "sentio.events.") {
		var e wire.Event
		if err := json.Unmarshal(data, &e); err != nil {
			return err
		}
		s.silences = append(s.silences, e.UtteranceID)
		return nil
	}
	var r wire.Result
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	s.results = append(s.results, r)
	return nil
}

func (s *slowSink) CallResults(context.Context, string) ([]wire.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]wire.Result(nil), s.results...), nil
}

// Utterances are compared in the order they reach the publish stage, not the order of their
// PubAcks: utterance 1 (4 s after utterance 0) waits for its PubAck while utterance 2, 200 ms
// after it, is published; utterance 2 is still compared with utterance 1, so only utterance 1
// is a silence.
func TestAlertsOrderIsArrivalNotPubAck(t *testing.T) {
	cfg := testConfig()
	cfg.Alerts.Rules = []config.AlertRule{{Name: "gap", Kind: config.AlertSilence, MinGap: 3 * time.Second}}
	ms := func(v int64) int64 { return v * asr.SampleRate / 1000 }
	work := func(startMS, endMS int64) *Work {
		return &Work{CallID: "c", Mode: wire.ModeStream, Role: "customer", Start: ms(startMS), PCM: make([]float32, ms(endMS-startMS)), Arrived: time.Now(),
			ASR: asr.Result{Text: "x"}, Lang: langid.Decision{Language: "en", Supported: true}}
	}
	u0, u1, u2 := work(0, 1000), work(5000, 6000), work(6200, 7000)
	sink := &slowSink{slowID: u1.utteranceID(), entered: make(chan struct{}), release: make(chan struct{})}
	s := &publishStage{sink: sink, resultPfx: "sentio.results", calls: newCallCounter(time.Minute), dedupe: 2 * time.Minute,
		log: slog.New(slog.DiscardHandler), m: newMetrics(prometheus.NewRegistry()), alerts: newAlerter(cfg, sink, nil, nil)}
	tr := stages.NewTracker(stages.Policy{}, nil, nil)
	defer tr.Close()
	process := func(w *Work) error {
		s.calls.add("c", 1)
		return s.Process(context.Background(), 0, stages.Item[*Work]{V: w, Deps: []*stages.Txn{tr.Begin(replayInput{1})}}, nil)
	}
	if err := process(u0); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- process(u1) }()
	<-sink.entered // utterance 1 waits for its PubAck
	if err := process(u2); err != nil {
		t.Fatal(err)
	}
	close(sink.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(sink.silences) != 1 || sink.silences[0] != u1.utteranceID() {
		t.Errorf("silence events at %v, want only utterance 1 (%s)", sink.silences, u1.utteranceID())
	}
}
