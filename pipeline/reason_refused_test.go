package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/reasoning"
)

// viOnlyReasoner is a model trained on Vietnamese only: like reasoning's kinds, it refuses a text
// in another language with a *reasoning.InputError.
type viOnlyReasoner struct{}

func (viOnlyReasoner) Predict(ctx context.Context, in reasoning.Input) (reasoning.Result, error) {
	if in.Lang != "vi" {
		return reasoning.Result{}, &reasoning.InputError{Message: `reasoning: language "` + in.Lang + `" is not one of the model's languages (vi)`}
	}
	return fakeReasoner{}.Predict(ctx, in)
}

// An utterance whose text the reasoning model refuses (here: a language it was not trained on)
// is published without a label, saying why, and its input is acked: it is neither dropped nor
// retried into the DLQ.
func TestUtteranceTheModelRefusesIsPublishedWithoutALabel(t *testing.T) {
	cfg := testConfig()
	parts := testParts(t, &fakeASR{})
	parts.Reasoner = viOnlyReasoner{}
	srv := testenv.RunJetStream(t)
	comp, reg := startComponent(t, srv.ClientURL(), cfg, parts, nil)
	nc, js := connect(t, srv.ClientURL())
	r := &rig{t: t, srv: srv, nc: nc, js: js, cfg: cfg, comp: comp, reg: reg}
	r.clip("refused", wav(tone(1.2, [2]float64{0.2, 1.0}), 16000), nil)
	res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results.refused", 1, 30*time.Second))
	if len(res) != 1 {
		t.Fatalf("%d results; want 1", len(res))
	}
	x := res[0]
	if x.Label != "" || x.Scores != nil || x.LanguageSupported || x.Transcript == "" ||
		!strings.Contains(x.ReasoningError, `language "en" is not one of the model's languages`) {
		t.Fatalf("result %+v; want a transcript, no label or scores, language_supported false and the model's reason", x)
	}
	r.settled(10 * time.Second)
	if dlq := collect(t, js, cfg.NATS.DLQStream, "sentio.dlq.>", 0, 200*time.Millisecond); len(dlq) != 0 {
		t.Fatalf("%d DLQ entries; want none", len(dlq))
	}
}
