package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/alerts"
	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/wire"
)

// alerter evaluates alerts.rules on each result the publish stage publishes and publishes the
// events, each with its deterministic id (rule, call, utterance) as Nats-Msg-Id, after the
// result and before the input is acked: a replay publishes the same events again, and JetStream
// drops them as duplicates.
//
// Its state per call (the results so far) lives in memory on the instance that publishes the
// call's results. The first time an instance evaluates a call (a new call, one it took over on
// failover or after a restart, or one it forgot) it rebuilds the state from the call's published
// results (Sink.CallResults), so an instance taking a call over compares its utterances with the
// ones the previous owner published, and matches what it would have. Rules that read the
// utterance alone (phrase, label_score) need no state and no read. A nil *alerter has no rules.
type alerter struct {
	rules   *alerts.Rules
	sink    Sink
	subject string
	red     *redaction
	log     *slog.Logger
	events  *prometheus.CounterVec

	mu    sync.Mutex
	calls *callLRU[alertCall]
}

// alertCall is one call's rule state; mu serialises its evaluations.
type alertCall struct {
	mu    sync.Mutex
	state *alerts.Call // nil until rebuilt from the call's published results
}

// newAlerter returns the alerter of cfg's rules, nil without rules; its metric
// sentio_alert_events_total is registered on reg (when not nil) with every rule's series at 0.
func newAlerter(cfg *config.Config, sink Sink, log *slog.Logger, reg prometheus.Registerer) *alerter {
	rules := alerts.New(cfg.Alerts.Rules)
	events := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "alert",
		Name: "events_total", Help: "Alert events published, by rule and rule kind (alerts.rules); a replay's duplicates, dropped by JetStream, count again."},
		[]string{"rule", "kind"})
	for _, nk := range rules.Names() {
		events.WithLabelValues(nk[0], nk[1])
	}
	if reg != nil {
		reg.MustRegister(events)
	}
	if rules.Empty() {
		return nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &alerter{rules: rules, sink: sink, subject: bus.NamesOf(cfg.NATS).EventSubject, red: newRedaction(cfg.Redact),
		log: log, events: events, calls: newCallLRU[alertCall](cfg.Pipeline.MaxCalls)}
}

// call returns the state of a call, forgetting the least recently used call beyond pipeline.max_calls
// (it is rebuilt from its published results if it comes back).
func (a *alerter) call(callID string) *alertCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls.get(callID)
}

// forget drops a call's state (its summary is out).
func (a *alerter) forget(callID string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.calls.forget(callID)
	a.mu.Unlock()
}

// publish evaluates the rules at result r, published (or found published), and publishes the
// events. transcript is r's transcript before redaction. An error leaves the input to be
// retried: the evaluation is repeated and gives the same events.
func (a *alerter) publish(ctx context.Context, r *wire.Result, transcript string) error {
	evs, err := a.evaluate(ctx, r, transcript)
	if err != nil {
		return err
	}
	return a.publishEvents(ctx, r, evs)
}

// evaluate adds result r to its call's state and returns the events of the rules that match at
// it. The publish stage calls it as a result reaches it, before publishing the result, so that
// the utterances of a call are added in the order they reach the stage rather than the order
// their PubAcks come back; it publishes the events after the result's PubAck.
func (a *alerter) evaluate(ctx context.Context, r *wire.Result, transcript string) ([]wire.Event, error) {
	if a == nil {
		return nil, nil
	}
	if !a.rules.Stateful() {
		return a.rules.Evaluate(alerts.NewCall(), r, transcript), nil
	}
	c := a.call(r.CallID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == nil {
		published, err := a.sink.CallResults(ctx, r.CallID)
		if err != nil {
			return nil, fmt.Errorf("alerts: reading the results of call %s: %w", r.CallID, err)
		}
		st := alerts.NewCall()
		for i := range published {
			st.Add(&published[i])
		}
		c.state = st
	}
	return a.rules.Evaluate(c.state, r, transcript), nil
}

// publishEvents publishes the events of r, each with its id as Nats-Msg-Id.
func (a *alerter) publishEvents(ctx context.Context, r *wire.Result, evs []wire.Event) error {
	for _, e := range evs {
		if e.Phrase != "" && a.red != nil && a.red.mode == wire.RedactionRedact {
			e.Phrase, _ = a.red.r.Redact(e.Phrase, r.Language)
		}
		data, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("alerts: encoding the event: %w", err)
		}
		if err := a.sink.Publish(ctx, wire.Subject(a.subject, r.CallID), e.EventID, data); err != nil {
			return fmt.Errorf("alerts: publishing event %s of rule %s: %w", e.EventID, e.Rule, err)
		}
		a.events.WithLabelValues(e.Rule, e.RuleKind).Inc()
		a.log.Info("alert", "rule", e.Rule, "kind", e.RuleKind, "call_id", e.CallID, "utterance_id", e.UtteranceID, "event_id", e.EventID)
	}
	return nil
}
