package reasoning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/sony/gobreaker/v2"

	"github.com/sentio-health/sentio/reasoning/llm"
)

// KindLLM is the manifest kind of sentiment reasoning by a language model behind an
// OpenAI-compatible endpoint (reasoning.llm), with a bundled model as fallback.
const KindLLM = "llm"

// LLMSpec is the "llm" section of an llm manifest: the prompt's resources.
type LLMSpec struct {
	// FewShotFile holds the few-shot examples (JSON Lines of llm.Example), relative to the model
	// directory.
	FewShotFile string `json:"few_shot_file"`
	// RationaleMaxChars bounds the rationale the answer may give.
	RationaleMaxChars int `json:"rationale_max_chars"`
}

// The reasons an utterance goes to the fallback model (label of
// sentio_reasoning_llm_fallbacks_total) and the kinds of request errors (label of
// sentio_reasoning_llm_errors_total).
const (
	llmUnreachable = "unreachable"  // refused, reset, DNS, TLS
	llmTimeout     = "timeout"      // no answer within reasoning.llm.timeout
	llmStatus      = "http_status"  // an HTTP status other than 200
	llmMalformed   = "malformed"    // an answer that does not parse
	llmBreakerOpen = "breaker_open" // not sent: the circuit breaker is open
)

// llmModel is the "llm" kind: each utterance is one chat-completions request, at most
// max_concurrent in flight, retried with backoff when refused or answered 429/5xx, behind a circuit
// breaker; what fails goes to the fallback model.
type llmModel struct {
	man      *Manifest
	opts     Options
	client   *llm.Client
	prompt   llm.Prompt
	schema   json.RawMessage
	sem      chan struct{}
	breaker  *gobreaker.CircuitBreaker[*llm.ChatResponse]
	fallback Model
	name     string // models.reasoning of the LLM's answers
	fbName   string // models.reasoning of the fallback's answers
	metrics  *llmMetrics
	log      *slog.Logger

	mu     sync.RWMutex // held for reading by calls in flight, for writing by Close
	closed bool
}

// openLLM opens an llm manifest: the prompt resources from the model directory, the endpoint
// from reasoning.llm, and the fallback model from reasoning.llm.fallback_dir.
func openLLM(m *Manifest, o Options) (Model, error) {
	c := o.Config.LLM
	if c.URL == "" {
		return nil, fmt.Errorf("reasoning: model %s is an LLM model, and reasoning.llm.url is empty: set it to the endpoint's API base (e.g. http://gpu1:8080/v1), or set reasoning.model_dir to a bundled model such as models/reasoning", m.Path)
	}
	var spec LLMSpec
	if len(m.LLM) > 0 {
		if err := json.Unmarshal(m.LLM, &spec); err != nil {
			return nil, fmt.Errorf("reasoning: model manifest %s: \"llm\": %v", m.Path, err)
		}
	}
	if spec.RationaleMaxChars <= 0 {
		spec.RationaleMaxChars = 80
	}
	examples := map[string][]llm.Example{}
	if spec.FewShotFile != "" && c.FewShot > 0 {
		var err error
		if examples, err = llm.LoadExamples(m.file(spec.FewShotFile)); err != nil {
			return nil, fmt.Errorf("reasoning: model %s: %w", m.Path, err)
		}
	}
	client, err := llm.NewClient(llm.ClientConfig{URL: c.URL, APIKey: c.APIKey, CAFile: c.TLS.CA, CertFile: c.TLS.Cert, KeyFile: c.TLS.Key})
	if err != nil {
		return nil, fmt.Errorf("reasoning: reasoning.llm: %w", err)
	}
	lm := &llmModel{
		man: m, opts: o, client: client, log: o.Logger.With("reasoning", "llm"),
		prompt: llm.Prompt{Examples: examples, FewShot: c.FewShot, ContextUtterances: c.ContextUtterances,
			ContextChars: c.ContextChars, RationaleMaxChars: spec.RationaleMaxChars},
		schema:  llm.Schema(spec.RationaleMaxChars),
		sem:     make(chan struct{}, max(1, c.MaxConcurrent)),
		name:    "llm " + cmpOr(c.Model, "(server default)"),
		metrics: newLLMMetrics(),
	}
	lm.breaker = gobreaker.NewCircuitBreaker[*llm.ChatResponse](gobreaker.Settings{
		Name:        "llm",
		MaxRequests: 1,
		Timeout:     c.BreakerOpen,
		ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= uint32(max(1, c.BreakerFailures)) },
		IsSuccessful: func(err error) bool {
			// The breaker is about reachability: an answer, even a malformed one, is the
			// endpoint working, and a caller giving up says nothing about it.
			return err == nil || errors.Is(err, llm.ErrMalformed) || errors.Is(err, context.Canceled)
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			lm.metrics.breaker.Set(float64(to))
			if to == gobreaker.StateOpen {
				lm.log.Warn("LLM endpoint circuit breaker opened: utterances go to the fallback model", "endpoint", client.Endpoint(), "for", c.BreakerOpen, "failures_in_a_row", c.BreakerFailures)
			} else {
				lm.log.Info("LLM endpoint circuit breaker "+to.String(), "endpoint", client.Endpoint(), "was", from.String())
			}
		},
	})
	if c.FallbackDir != "" {
		fo := o
		fb, err := openFallback(c.FallbackDir, fo)
		if err != nil {
			return nil, fmt.Errorf("reasoning: the fallback model (reasoning.llm.fallback_dir): %w", err)
		}
		if fb.Info().Kind == KindLLM {
			fb.Close()
			return nil, fmt.Errorf("reasoning: the fallback model %s is itself an LLM model (allowed: a bundled model such as models/reasoning)", c.FallbackDir)
		}
		lm.fallback = fb
		fi := fb.Info()
		lm.fbName = fi.Kind + " " + fi.Version + " (fallback)"
	}
	lm.log.Info("LLM reasoning", "endpoint", client.Endpoint(), "llm_model", c.Model, "max_concurrent", cap(lm.sem), "timeout", c.Timeout.String(),
		"few_shot", c.FewShot, "context_utterances", c.ContextUtterances, "fallback", lm.fbName)
	return lm, nil
}

// openFallback is Open, set at init: kinds (which holds openLLM) cannot refer to Open at
// initialisation.
var openFallback func(dir string, o Options) (Model, error)

func init() { openFallback = Open }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Info describes the model; Provider is the endpoint.
func (m *llmModel) Info() Info {
	return Info{Kind: m.man.Kind, Version: m.man.Version, Dir: m.man.Dir, Languages: slices.Clone(m.man.Languages), Provider: m.client.Endpoint()}
}

// Close waits for the calls in flight and closes the fallback model.
func (m *llmModel) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.client.CloseIdle()
	if m.fallback != nil {
		return m.fallback.Close()
	}
	return nil
}

// PredictBatch reasons about each input with concurrent requests (at most max_concurrent in
// flight).
func (m *llmModel) PredictBatch(ctx context.Context, inputs []Input) ([]Result, []error, error) {
	results := make([]Result, len(inputs))
	errs := make([]error, len(inputs))
	var wg sync.WaitGroup
	for i := range inputs {
		wg.Go(func() { results[i], errs[i] = m.Predict(ctx, inputs[i]) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	if slices.ContainsFunc(errs, func(e error) bool { return errors.Is(e, ErrClosed) }) {
		return nil, nil, ErrClosed
	}
	return results, errs, nil
}

// Predict asks the endpoint about one text; when that fails, the fallback model answers.
func (m *llmModel) Predict(ctx context.Context, in Input) (Result, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return Result{}, ErrClosed
	}
	lang, detected, err := m.language(in)
	if err != nil {
		return Result{}, err
	}
	res, reason, err := m.ask(ctx, in, lang)
	if err == nil {
		res.LangDetected = detected
		return res, nil
	}
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	if m.fallback == nil {
		m.log.Warn("LLM request failed; no fallback model (reasoning.llm.fallback_dir)", "reason", reason, "err", err)
		return Result{}, fmt.Errorf("%w (no fallback: reasoning.llm.fallback_dir is empty)", err)
	}
	if reason == llmBreakerOpen {
		m.log.Debug("LLM circuit breaker open: the fallback model answers")
	} else {
		m.log.Warn("LLM request failed; the fallback model answers", "reason", reason, "err", err, "fallback", m.fbName)
	}
	m.metrics.fallbacks.WithLabelValues(reason).Inc()
	fin := in
	fin.Lang = lang
	res, ferr := m.fallback.Predict(ctx, fin)
	if ferr != nil {
		return Result{}, fmt.Errorf("reasoning: the LLM failed (%v) and so did the fallback model: %w", err, ferr)
	}
	res.LangDetected = detected
	res.Model = m.fbName
	return res, nil
}

// language settles the input's language like the bundled model does: given, or detected.
func (m *llmModel) language(in Input) (string, bool, error) {
	have := map[string]bool{}
	for _, l := range m.man.Languages {
		have[l] = true
	}
	return settleLang(in, have, m.man.Languages, m.opts.Detector)
}

// ask sends the request through the breaker and parses the answer. reason classifies a failure
// for the fallback metric.
func (m *llmModel) ask(ctx context.Context, in Input, lang string) (res Result, reason string, err error) {
	c := m.opts.Config.LLM
	seed := 0
	req := &llm.ChatRequest{
		Model: c.Model, Messages: m.prompt.Messages(in.Text, lang, in.Context), MaxTokens: c.MaxTokens, Temperature: 0, Seed: &seed,
		ResponseFormat: &llm.ResponseFormat{Type: "json_schema", JSONSchema: &llm.JSONSchema{Name: "sentiment", Strict: true, Schema: m.schema}},
	}
	if c.TopLogprobs > 0 {
		req.Logprobs, req.TopLogprobs = true, c.TopLogprobs
	}
	resp, err := m.breaker.Execute(func() (*llm.ChatResponse, error) { return m.send(ctx, req) })
	if err != nil {
		switch {
		case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
			return Result{}, llmBreakerOpen, fmt.Errorf("reasoning: the LLM endpoint's circuit breaker is open")
		case errors.Is(err, llm.ErrMalformed):
			return Result{}, llmMalformed, err
		case llm.IsTimeout(err):
			return Result{}, llmTimeout, err
		}
		var se *llm.StatusError
		if errors.As(err, &se) {
			return Result{}, llmStatus, err
		}
		return Result{}, llmUnreachable, err
	}
	choice := resp.Choices[0]
	ans, err := llm.ParseAnswer(choice.Message.Content)
	if err != nil {
		m.metrics.errors.WithLabelValues(llmMalformed).Inc()
		m.log.Debug("LLM answer does not parse", "err", err, "finish_reason", choice.FinishReason, "answer", choice.Message.Content)
		return Result{}, llmMalformed, err
	}
	res = Result{Lang: lang, Label: ans.Label, Rationale: ans.Rationale, RationaleSource: "llm", Evidence: []Evidence{}, Model: m.name}
	if choice.Logprobs != nil {
		if sc, ok := llm.LabelScores(choice.Message.Content, ans.Label, choice.Logprobs.Content); ok {
			res.Scores = Scores{Negative: sc[0], Neutral: sc[1], Positive: sc[2]}
			return res, "", nil
		}
	}
	res.NoScores = true
	return res, "", nil
}

// send posts req, at most max_concurrent at once, each attempt bounded by reasoning.llm.timeout,
// retrying refused connections and 429/5xx answers with exponential backoff. A timeout is not
// retried: the utterance has already waited that long.
func (m *llmModel) send(ctx context.Context, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	c := m.opts.Config.LLM
	eb := backoff.NewExponentialBackOff()
	eb.InitialInterval = max(c.RetryBackoff, time.Millisecond)
	eb.MaxInterval = 30 * eb.InitialInterval
	op := func() (*llm.ChatResponse, error) {
		select {
		case m.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, backoff.Permanent(ctx.Err())
		}
		m.metrics.inFlight.Inc()
		actx, cancel := context.WithTimeout(ctx, c.Timeout)
		start := time.Now()
		resp, err := m.client.Complete(actx, req)
		elapsed := time.Since(start)
		cancel()
		m.metrics.inFlight.Dec()
		<-m.sem
		m.metrics.requests.Inc()
		m.metrics.latency.Observe(elapsed.Seconds())
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, backoff.Permanent(ctx.Err())
		}
		var se *llm.StatusError
		switch {
		case errors.Is(err, context.DeadlineExceeded) || llm.IsTimeout(err):
			m.metrics.errors.WithLabelValues(llmTimeout).Inc()
			return nil, backoff.Permanent(fmt.Errorf("reasoning: the LLM endpoint did not answer within reasoning.llm.timeout (%s): %w", c.Timeout, context.DeadlineExceeded))
		case errors.Is(err, llm.ErrMalformed):
			m.metrics.errors.WithLabelValues(llmMalformed).Inc()
			return nil, backoff.Permanent(err)
		case errors.As(err, &se):
			m.metrics.errors.WithLabelValues(llmStatus).Inc()
			m.log.Debug("LLM endpoint answered with an error status", "status", se.Code, "message", se.Message, "retried", se.Temporary())
			if !se.Temporary() {
				return nil, backoff.Permanent(err)
			}
			return nil, err
		}
		m.metrics.errors.WithLabelValues(llmUnreachable).Inc()
		m.log.Debug("LLM endpoint unreachable", "endpoint", m.client.Endpoint(), "err", err)
		return nil, err
	}
	return backoff.Retry(ctx, op, backoff.WithBackOff(eb), backoff.WithMaxTries(uint(c.Retries)+1), backoff.WithMaxElapsedTime(0))
}
