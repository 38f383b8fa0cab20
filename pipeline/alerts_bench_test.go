package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sentio-health/sentio/alerts"
	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// BenchmarkAlertsPerUtterance measures what the alert rules add to publishing an utterance, on a
// real NATS server (no event matches): a stateful rule (silence) on a call's first utterance,
// which reads the call's published results, and on a later one of a call of 200 utterances
// (state in memory), and a stateless rule (phrase), which never reads them.
func BenchmarkAlertsPerUtterance(b *testing.B) {
	srv := testenv.RunJetStream(b)
	_, js := testenv.Connect(b, srv.ClientURL())
	cfg := testConfig()
	ctx := context.Background()
	if _, err := bus.Setup(ctx, js, cfg.NATS); err != nil {
		b.Fatal(err)
	}
	sink := bus.New(js, cfg.NATS, nil)
	silence := []config.AlertRule{{Name: "gap", Kind: config.AlertSilence, MinGap: time.Hour}}
	phrase := []config.AlertRule{{Name: "p", Kind: config.AlertPhrase, Phrases: map[string][]string{"en": {"cancel my appointment"}}}}
	for _, bc := range []struct {
		name     string
		rules    []config.AlertRule
		newCalls bool
	}{{"stateful/first-utterance", silence, true}, {"stateful/later-utterance", silence, false}, {"stateless", phrase, true}} {
		b.Run(bc.name, func(b *testing.B) {
			c := *cfg
			c.Alerts.Rules = bc.rules
			a := newAlerter(&c, sink, nil, nil)
			for i := 0; b.Loop(); i++ {
				call := fmt.Sprintf("bench-%s-%d", bc.name[:4], i)
				if !bc.newCalls {
					call = fmt.Sprintf("bench-later-%d", i/200)
					if i%200 == 0 {
						a.calls.get(call).state = alerts.NewCall() // its first utterance, without the read
					}
				}
				r := &wire.Result{CallID: call, UtteranceID: wire.UtteranceID(call, 0, int64(i)), Role: "customer", Language: "en",
					StartMS: int64(i) * 1000, EndMS: int64(i)*1000 + 500}
				if err := a.publish(ctx, r, "I would like to book a visit next week"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
