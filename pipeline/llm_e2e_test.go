//go:build whisper

package pipeline

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// End to end with LLM reasoning: espeak-ng speech through whisper.cpp and lingua-go, reasoned by
// the real llama-server (tiny random model: the labels are noise, the answers well-formed), with
// the previous utterance as context; then the server is stopped and the same speech is reasoned by
// the bundled model, which the results name.
func TestEndToEndLLMReasoning(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end with the real models")
	}
	const key = "sk-e2e-0123456789abcdef"
	llm := testenv.StartLLMServer(t, 2, "--api-key", key)
	cfg := realConfig(t)
	root := testenv.RepoRoot(t)
	cfg.Reasoning.ModelDir = filepath.Join(root, "models", "llm")
	cfg.Reasoning.LLM.URL, cfg.Reasoning.LLM.Model, cfg.Reasoning.LLM.APIKey = llm.URL, "tiny", key
	cfg.Reasoning.LLM.FallbackDir = filepath.Join(root, config.DefaultReasoningModel)
	cfg.Reasoning.LLM.ContextUtterances = 2
	cfg.Reasoning.LLM.Retries, cfg.Reasoning.LLM.RetryBackoff = 1, 10*time.Millisecond
	cfg.Pipeline.ReasonWorkers = 2
	parts, closeParts, err := OpenParts(cfg, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeParts() })
	srv := testenv.RunJetStream(t)
	_, reg := startComponent(t, srv.ClientURL(), cfg, parts, nil)
	nc, js := connect(t, srv.ClientURL())
	r := &rig{t: t, srv: srv, nc: nc, js: js, cfg: cfg}

	speech := concat(speak(t, "en", corpusSentence(t, "en", 1)), speak(t, "de", corpusSentence(t, "de", 1)))
	check := func(call, model string) {
		t.Helper()
		res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results."+call, 2, 5*time.Minute))
		if len(res) != 2 {
			t.Fatalf("%s: %d results, want 2", call, len(res))
		}
		for _, x := range res {
			t.Logf("%s %s %s %v %q (%s)", call, x.Language, x.Label, x.Scores, x.Rationale, x.Models["reasoning"])
			if !x.LanguageSupported || x.Label == "" || strings.TrimSpace(x.Rationale) == "" || len(x.Scores) != 3 || x.TimingsMS[StageReason] <= 0 {
				t.Errorf("%s: incomplete reasoning %+v", call, x)
			}
			if !strings.HasPrefix(x.Models["reasoning"], model) {
				t.Errorf("%s: models.reasoning %q, want %q…", call, x.Models["reasoning"], model)
			}
		}
		if s := summaryOf(t, r, call); s.Utterances != 2 {
			t.Errorf("%s: summary of %d utterances", call, s.Utterances)
		}
	}
	r.clip("llm-up", wav(speech, 16000), map[string]string{wire.HeaderRole: "patient", wire.HeaderEnd: "true"})
	check("llm-up", "llm tiny")
	if n := sumMetric(t, reg, "sentio_reasoning_llm_requests_total"); n < 2 {
		t.Errorf("sentio_reasoning_llm_requests_total %v, want 2 or more", n)
	}

	llm.Stop()
	r.clip("llm-down", wav(speech, 16000), map[string]string{wire.HeaderRole: "patient", wire.HeaderEnd: "true"})
	check("llm-down", "ngram-classifier")
	if n := sumMetric(t, reg, "sentio_reasoning_llm_fallbacks_total"); n != 2 {
		t.Errorf("sentio_reasoning_llm_fallbacks_total %v, want 2", n)
	}
	r.settled(time.Minute)
}
