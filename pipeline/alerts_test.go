package pipeline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// TestAlertsFailoverAndReplay runs the alert mechanics on a real NATS server: instance A
// publishes the call's first result; instance B, which never saw the call (a failover), publishes
// the second and rebuilds the call from the published results, so the silence and the language
// switch are found against A's utterance; the second utterance evaluated again (a redelivery to B,
// and to a third instance C) publishes the same events, which JetStream drops: each event is
// stored once. The metric counts per rule, every rule at 0 from the start.
func TestAlertsFailoverAndReplay(t *testing.T) {
	srv := testenv.RunJetStream(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	cfg := testConfig()
	cfg.Alerts.Rules = []config.AlertRule{{Name: "gap", Kind: config.AlertSilence, MinGap: 2 * time.Second},
		{Name: "switch", Kind: config.AlertLanguageSwitch}, {Name: "never", Kind: config.AlertLabelScore, Label: "positive", MinScore: 1}}
	ctx := context.Background()
	if _, err := bus.Setup(ctx, js, cfg.NATS); err != nil {
		t.Fatal(err)
	}
	b := bus.New(js, cfg.NATS, nil)
	const call = "failover-1"
	res := func(n int, start, end int64, lang string) *wire.Result {
		return &wire.Result{CallID: call, UtteranceID: wire.UtteranceID(call, 0, int64(n)), Mode: wire.ModeStream, Role: "customer",
			StartMS: start, EndMS: end, Language: lang, LanguageSupported: true, Label: "neutral", Models: map[string]string{}, TimingsMS: map[string]float64{"total": 1}}
	}
	publish := func(a *alerter, r *wire.Result) {
		t.Helper()
		data, err := wire.MarshalResult(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, wire.Subject(cfg.NATS.ResultSubject, call), r.UtteranceID, data); err != nil {
			t.Fatal(err)
		}
		if err := a.publish(ctx, r, ""); err != nil {
			t.Fatal(err)
		}
	}
	regB := prometheus.NewRegistry()
	instA, instB, instC := newAlerter(cfg, b, nil, nil), newAlerter(cfg, b, nil, regB), newAlerter(cfg, b, nil, nil)
	if n := testutil.CollectAndCount(regB, "sentio_alert_events_total"); n != 3 {
		t.Errorf("sentio_alert_events_total has %d series before any event, want one per rule (3)", n)
	}
	r1, r2 := res(1, 0, 1500, "en"), res(2, 4000, 5000, "de")
	publish(instA, r1)
	publish(instB, r2)
	publish(instB, r2) // redelivered
	publish(instC, r2) // redelivered to another instance
	msgs := testenv.Collect(t, js, cfg.NATS.ResultStream, wire.Subject(cfg.NATS.EventSubject, call), 3, 3*time.Second)
	got := map[string]wire.Event{}
	for _, m := range msgs {
		var e wire.Event
		if err := json.Unmarshal(m.Data(), &e); err != nil {
			t.Fatal(err)
		}
		if _, dup := got[e.Rule]; dup {
			t.Errorf("rule %s stored twice", e.Rule)
		}
		got[e.Rule] = e
	}
	if len(msgs) != 2 || got["gap"].GapMS != 2500 || got["gap"].PreviousUtteranceID != r1.UtteranceID || got["switch"].FromLanguage != "en" {
		t.Errorf("stored events %+v, want gap (2500 ms after utterance 1) and switch (en to de), once each", got)
	}
	if v := testutil.ToFloat64(instB.events.WithLabelValues("gap", config.AlertSilence)); v != 2 {
		t.Errorf("instance B counted %v gap events, want 2 (published twice, stored once)", v)
	}
}

// eventSink is a Sink double that keeps what is published (mechanics only).
type eventSink struct {
	data  [][]byte
	reads int
}

func (s *eventSink) Publish(_ context.Context, _, _ string, data []byte) error {
	s.data = append(s.data, data)
	return nil
}

func (s *eventSink) CallResults(context.Context, string) ([]wire.Result, error) {
	s.reads++
	return nil, nil
}

// A phrase rule matches the transcript as transcribed, but with redact.mode redact the event
// carries the phrase redacted as a transcript would be: no digits of a phone number. A phrase
// rule reads the utterance alone: the call's results are not read.
func TestPhraseEventRedacted(t *testing.T) {
	cfg := testConfig()
	cfg.Redact.Mode = "redact"
	cfg.Alerts.Rules = []config.AlertRule{{Name: "number", Kind: config.AlertPhrase, Phrases: map[string][]string{"en": {"my number is 0912 345 678"}}}}
	sink := &eventSink{}
	a := newAlerter(cfg, sink, nil, nil)
	r := &wire.Result{CallID: "c1", UtteranceID: wire.UtteranceID("c1", 0, 0), Role: "customer", Language: "en", Transcript: "My number is [PHONE]."}
	if err := a.publish(context.Background(), r, "My number is 0912 345 678."); err != nil {
		t.Fatal(err)
	}
	if len(sink.data) != 1 || sink.reads != 0 {
		t.Fatalf("%d events, %d reads of the call's results; want 1 and 0", len(sink.data), sink.reads)
	}
	var e wire.Event
	if err := json.Unmarshal(sink.data[0], &e); err != nil {
		t.Fatal(err)
	}
	if e.Phrase != "my number is [PHONE]" || strings.Contains(string(sink.data[0]), "0912") {
		t.Errorf("event %s: want the phrase redacted", sink.data[0])
	}
}
