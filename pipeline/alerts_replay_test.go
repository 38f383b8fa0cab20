package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
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
	s := &publishStage{sink: sink, resultPfx: "sentio.results", calls: newCallCounter(), dedupe: 2 * time.Minute,
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
