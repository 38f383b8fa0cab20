package reasoning

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/reasoning/llm"
)

const testAPIKey = "sk-test-0123456789abcdef"

// openLLMModel opens models/llm against url, with the test's tiny n-gram model as fallback
// (fallback false: none), logging into logs at debug level.
func openLLMModel(t *testing.T, url string, fallback bool, logs *testenv.LogBuffer, mod func(*config.LLM)) *llmModel {
	t.Helper()
	c := config.Defaults().Reasoning
	c.Provider, c.Threads = "cpu", 1
	c.LLM.URL, c.LLM.Model, c.LLM.APIKey = url, "tiny", testAPIKey
	c.LLM.Timeout = 20 * time.Second
	c.LLM.RetryBackoff = 10 * time.Millisecond
	c.LLM.FallbackDir = ""
	if fallback {
		c.LLM.FallbackDir = tinyDir(t)
	}
	if mod != nil {
		mod(&c.LLM)
	}
	var w io.Writer = io.Discard
	if logs != nil {
		w = logs
	}
	m, err := Open(filepath.Join(testenv.RepoRoot(t), "models", "llm"), Options{Config: c,
		Logger: slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m.(*llmModel)
}

// checkLLMResult checks what the grammar guarantees: a label, a rationale, scores that are
// probabilities summing to 1 (or none), and the model that answered.
func checkLLMResult(t *testing.T, in Input, r Result, model string) {
	t.Helper()
	if r.Label != Negative && r.Label != Neutral && r.Label != Positive {
		t.Errorf("%q: label %q", in.Text, r.Label)
	}
	if strings.TrimSpace(r.Rationale) == "" {
		t.Errorf("%q: empty rationale", in.Text)
	}
	if r.Lang != in.Lang {
		t.Errorf("%q: lang %q, want %q", in.Text, r.Lang, in.Lang)
	}
	if r.Model != model {
		t.Errorf("%q: answered by %q, want %q", in.Text, r.Model, model)
	}
	if !r.NoScores {
		sum := r.Scores.Negative + r.Scores.Neutral + r.Scores.Positive
		if sum < 0.999 || sum > 1.001 {
			t.Errorf("%q: scores %+v sum to %v", in.Text, r.Scores, sum)
		}
	}
}

// TestLLMReasonsThroughLlamaServer asks the real llama-server (tiny random model, JSON-schema
// grammar, log-probabilities, API key) about utterances in the five languages.
func TestLLMReasonsThroughLlamaServer(t *testing.T) {
	srv := testenv.StartLLMServer(t, 2, "--api-key", testAPIKey)
	var logs testenv.LogBuffer
	m := openLLMModel(t, srv.URL, true, &logs, nil)
	for _, in := range samples {
		r, err := m.Predict(context.Background(), in)
		if err != nil {
			t.Fatalf("%q: %v", in.Text, err)
		}
		checkLLMResult(t, in, r, "llm tiny")
		t.Logf("%s %q: %s %+v %q", in.Lang, in.Text, r.Label, r.Scores, r.Rationale)
		if r.NoScores {
			t.Errorf("%q: no scores, though llama-server returns log-probabilities", in.Text)
		}
	}
	if n := testutil.ToFloat64(m.metrics.requests); n != float64(len(samples)) {
		t.Errorf("requests_total %v, want %d", n, len(samples))
	}
	if n := testutil.ToFloat64(m.metrics.fallbacks.WithLabelValues(llmUnreachable)); n != 0 {
		t.Errorf("%v fallbacks", n)
	}
	if s := logs.String(); strings.Contains(s, testAPIKey) {
		t.Errorf("the API key is in the log:\n%s", s)
	}

	// Without log-probabilities the result says so.
	m0 := openLLMModel(t, srv.URL, true, nil, func(c *config.LLM) { c.TopLogprobs = 0 })
	r, err := m0.Predict(context.Background(), samples[3])
	if err != nil {
		t.Fatal(err)
	}
	checkLLMResult(t, samples[3], r, "llm tiny")
	if !r.NoScores || r.Scores != (Scores{}) {
		t.Errorf("without log-probabilities: NoScores %v, scores %+v", r.NoScores, r.Scores)
	}
}

// TestLLMWrongAPIKeyFallsBack: llama-server refuses a wrong key (401), which is not retried; the
// fallback model answers, and neither key is logged.
func TestLLMWrongAPIKeyFallsBack(t *testing.T) {
	srv := testenv.StartLLMServer(t, 1, "--api-key", "the-server-key-0123456789")
	var logs testenv.LogBuffer
	m := openLLMModel(t, srv.URL, true, &logs, nil)
	r, err := m.Predict(context.Background(), samples[2])
	if err != nil {
		t.Fatal(err)
	}
	checkLLMResult(t, samples[2], r, "ngram-classifier "+m.fallback.Info().Version+" (fallback)")
	if n := testutil.ToFloat64(m.metrics.requests); n != 1 {
		t.Errorf("%v requests: a 401 is not retried", n)
	}
	if n := testutil.ToFloat64(m.metrics.fallbacks.WithLabelValues(llmStatus)); n != 1 {
		t.Errorf("fallbacks{http_status} %v, want 1", n)
	}
	if s := logs.String(); strings.Contains(s, testAPIKey) || strings.Contains(s, "the-server-key") || !strings.Contains(s, `"status":401`) {
		t.Errorf("log (no key, the status):\n%s", s)
	}
}

// TestLLMEndpointDownFallsBack: nothing listens at the endpoint; each utterance is retried, then
// answered by the fallback model, and after breaker_failures such utterances the breaker opens
// and utterances go to the fallback without a request.
func TestLLMEndpointDownFallsBack(t *testing.T) {
	url := "http://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)) + "/v1"
	var logs testenv.LogBuffer
	m := openLLMModel(t, url, true, &logs, func(c *config.LLM) { c.Retries, c.BreakerFailures = 1, 2 })
	fb := "ngram-classifier " + m.fallback.Info().Version + " (fallback)"
	for i := range 4 {
		r, err := m.Predict(context.Background(), samples[i])
		if err != nil {
			t.Fatal(err)
		}
		checkLLMResult(t, samples[i], r, fb)
	}
	if n := testutil.ToFloat64(m.metrics.requests); n != 4 {
		t.Errorf("%v requests, want 4 (2 utterances, 1 retry each, then the breaker is open)", n)
	}
	if a, b := testutil.ToFloat64(m.metrics.fallbacks.WithLabelValues(llmUnreachable)), testutil.ToFloat64(m.metrics.fallbacks.WithLabelValues(llmBreakerOpen)); a != 2 || b != 2 {
		t.Errorf("fallbacks unreachable %v, breaker_open %v; want 2 and 2", a, b)
	}
	if s := testutil.ToFloat64(m.metrics.breaker); s != 2 {
		t.Errorf("breaker_state %v, want 2 (open)", s)
	}
	if !strings.Contains(logs.String(), "circuit breaker opened") {
		t.Errorf("no breaker line in the log:\n%s", logs.String())
	}

	// Without a fallback the utterance fails.
	m2 := openLLMModel(t, url, false, nil, func(c *config.LLM) { c.Retries = 0 })
	if _, err := m2.Predict(context.Background(), samples[0]); err == nil || !strings.Contains(err.Error(), "no fallback") {
		t.Errorf("without fallback: %v", err)
	}
}

// proxy runs an HTTP server in front of the llama-server at target; before passes each request
// (it may delay it), and modify may rewrite the chat-completions answer.
func proxy(t *testing.T, target string, before func(r *http.Request), modify func(body []byte) []byte) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	if modify != nil {
		rp.ModifyResponse = func(resp *http.Response) error {
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			resp.Body.Close()
			b = modify(b)
			resp.Body = io.NopCloser(bytes.NewReader(b))
			resp.ContentLength = int64(len(b))
			resp.Header.Del("Content-Length")
			return nil
		}
	}
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if before != nil {
			before(r)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(ps.Close)
	return ps.URL + "/v1"
}

// TestLLMSlowEndpointTimesOut: a proxy holds requests to the real server past
// reasoning.llm.timeout; the request is abandoned (not retried) and the fallback answers.
func TestLLMSlowEndpointTimesOut(t *testing.T) {
	srv := testenv.StartLLMServer(t, 1, "--api-key", testAPIKey)
	release := make(chan struct{})
	defer close(release)
	var held atomic.Int32
	url := proxy(t, srv.URL, func(r *http.Request) {
		held.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, nil)
	m := openLLMModel(t, url, true, nil, func(c *config.LLM) { c.Timeout = 300 * time.Millisecond })
	r, err := m.Predict(context.Background(), samples[4])
	if err != nil {
		t.Fatal(err)
	}
	checkLLMResult(t, samples[4], r, "ngram-classifier "+m.fallback.Info().Version+" (fallback)")
	if n := held.Load(); n != 1 {
		t.Errorf("%d requests reached the endpoint, want 1 (a timeout is not retried)", n)
	}
	if a, b := testutil.ToFloat64(m.metrics.errors.WithLabelValues(llmTimeout)), testutil.ToFloat64(m.metrics.fallbacks.WithLabelValues(llmTimeout)); a != 1 || b != 1 {
		t.Errorf("errors{timeout} %v, fallbacks{timeout} %v; want 1 and 1", a, b)
	}
}

// TestLLMMalformedAnswer: a proxy replaces the real server's answer with text that is not the
// schema's; with a fallback the fallback answers, without one Predict fails with ErrMalformed;
// the raw answer is logged at debug level only.
func TestLLMMalformedAnswer(t *testing.T) {
	srv := testenv.StartLLMServer(t, 1, "--api-key", testAPIKey)
	const raw = "I think the patient is sad"
	url := proxy(t, srv.URL, nil, func(b []byte) []byte {
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("llama-server's answer: %v", err)
			return b
		}
		v["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"] = raw
		out, _ := json.Marshal(v)
		return out
	})
	var logs testenv.LogBuffer
	m := openLLMModel(t, url, true, &logs, nil)
	r, err := m.Predict(context.Background(), samples[5])
	if err != nil {
		t.Fatal(err)
	}
	checkLLMResult(t, samples[5], r, "ngram-classifier "+m.fallback.Info().Version+" (fallback)")
	if a, b := testutil.ToFloat64(m.metrics.errors.WithLabelValues(llmMalformed)), testutil.ToFloat64(m.metrics.fallbacks.WithLabelValues(llmMalformed)); a != 1 || b != 1 {
		t.Errorf("errors{malformed} %v, fallbacks{malformed} %v; want 1 and 1", a, b)
	}
	for _, rec := range logs.Records(t) {
		if rec["level"] != "DEBUG" && strings.Contains(jsonString(rec), raw) {
			t.Errorf("the raw answer is logged at %v: %v", rec["level"], rec)
		}
	}
	if !strings.Contains(logs.String(), raw) {
		t.Errorf("the raw answer is not logged at debug level:\n%s", logs.String())
	}

	m2 := openLLMModel(t, url, false, nil, nil)
	if _, err := m2.Predict(context.Background(), samples[5]); !errors.Is(err, llm.ErrMalformed) {
		t.Errorf("without fallback: %v, want ErrMalformed", err)
	}
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestLLMConcurrencyLimit: 12 utterances at once through a proxy that counts the requests in
// flight at the real server (4 slots): never more than max_concurrent (2), and 2 are reached.
func TestLLMConcurrencyLimit(t *testing.T) {
	srv := testenv.StartLLMServer(t, 4, "--api-key", testAPIKey)
	var mu sync.Mutex
	inFlight, peak := 0, 0
	// A request counts from its arrival until its answer is about to be written: the client
	// cannot have it (and send another) before.
	url := proxy(t, srv.URL, func(*http.Request) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		time.Sleep(50 * time.Millisecond) // widens the window in which requests overlap
	}, func(b []byte) []byte {
		mu.Lock()
		inFlight--
		mu.Unlock()
		return b
	})
	m := openLLMModel(t, url, false, nil, func(c *config.LLM) { c.MaxConcurrent = 2 })
	ins := make([]Input, 12)
	for i := range ins {
		ins[i] = samples[i%len(samples)]
	}
	rs, errs, err := m.PredictBatch(context.Background(), ins)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ins {
		if errs[i] != nil {
			t.Fatalf("%q: %v", ins[i].Text, errs[i])
		}
		checkLLMResult(t, ins[i], rs[i], "llm tiny")
	}
	mu.Lock()
	defer mu.Unlock()
	if peak != 2 {
		t.Errorf("peak requests in flight %d, want 2 (max_concurrent)", peak)
	}
}

// TestLLMOverTLS: an https endpoint (a TLS proxy in front of the real server) is reached with its
// CA in reasoning.llm.tls.ca; without it the certificate is refused and the fallback answers.
func TestLLMOverTLS(t *testing.T) {
	srv := testenv.StartLLMServer(t, 1, "--api-key", testAPIKey)
	u, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: u.Host})
	ts := httptest.NewTLSServer(rp)
	t.Cleanup(ts.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	m := openLLMModel(t, ts.URL+"/v1", true, nil, func(c *config.LLM) { c.TLS.CA = ca })
	r, err := m.Predict(context.Background(), samples[1])
	if err != nil {
		t.Fatal(err)
	}
	checkLLMResult(t, samples[1], r, "llm tiny")

	untrusted := openLLMModel(t, ts.URL+"/v1", true, nil, func(c *config.LLM) { c.Retries = 0 })
	r, err = untrusted.Predict(context.Background(), samples[1])
	if err != nil {
		t.Fatal(err)
	}
	checkLLMResult(t, samples[1], r, "ngram-classifier "+untrusted.fallback.Info().Version+" (fallback)")
	if n := testutil.ToFloat64(untrusted.metrics.fallbacks.WithLabelValues(llmUnreachable)); n != 1 {
		t.Errorf("fallbacks{unreachable} %v after a certificate the client does not trust", n)
	}
}

// TestLLMBreakerRecovers: the endpoint answers 503 (retried, then failed) until the breaker
// opens; once the endpoint is back and breaker_open has passed, one trial request closes the
// breaker and the LLM answers again.
func TestLLMBreakerRecovers(t *testing.T) {
	srv := testenv.StartLLMServer(t, 1, "--api-key", testAPIKey)
	var failing atomic.Bool
	failing.Store(true)
	var sent atomic.Int32
	u, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: u.Host})
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		if failing.Load() {
			http.Error(w, `{"error":{"message":"loading model"}}`, http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(ps.Close)
	m := openLLMModel(t, ps.URL+"/v1", true, nil, func(c *config.LLM) {
		c.Retries, c.BreakerFailures, c.BreakerOpen = 1, 1, time.Second
	})
	fb := "ngram-classifier " + m.fallback.Info().Version + " (fallback)"
	r, err := m.Predict(context.Background(), samples[6])
	if err != nil {
		t.Fatal(err)
	}
	checkLLMResult(t, samples[6], r, fb)
	if n := sent.Load(); n != 2 {
		t.Errorf("%d requests for a 503, want 2 (1 retry)", n)
	}
	r, _ = m.Predict(context.Background(), samples[6])
	checkLLMResult(t, samples[6], r, fb)
	if n := sent.Load(); n != 2 || testutil.ToFloat64(m.metrics.fallbacks.WithLabelValues(llmBreakerOpen)) != 1 {
		t.Errorf("breaker open: %d requests (want still 2), fallbacks %v", n, testutil.ToFloat64(m.metrics.fallbacks.WithLabelValues(llmBreakerOpen)))
	}
	failing.Store(false)
	testenv.Eventually(t, 10*time.Second, "the LLM answering again", func() bool {
		r, err := m.Predict(context.Background(), samples[6])
		return err == nil && r.Model == "llm tiny"
	})
	if s := testutil.ToFloat64(m.metrics.breaker); s != 0 {
		t.Errorf("breaker_state %v, want 0 (closed)", s)
	}
}

// TestLLMRequest: what reaches the endpoint (seen by a proxy in front of the real server): the
// key as a bearer token, the task naming the utterance's language, the configured number of
// few-shot examples of that language, the bounded context, the JSON schema and log-probabilities.
func TestLLMRequest(t *testing.T) {
	srv := testenv.StartLLMServer(t, 1, "--api-key", testAPIKey)
	var mu sync.Mutex
	var body []byte
	var auth string
	url := proxy(t, srv.URL, func(r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		mu.Lock()
		body, auth = b, r.Header.Get("Authorization")
		mu.Unlock()
	}, nil)
	m := openLLMModel(t, url, false, nil, func(c *config.LLM) { c.FewShot, c.ContextUtterances = 2, 2 })
	in := Input{Lang: "de", Text: samples[7].Text, Context: []string{"Erster Satz.", "Zweiter Satz.", "Dritter Satz."}}
	if _, err := m.Predict(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var req llm.ChatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	if auth != "Bearer "+testAPIKey {
		t.Errorf("Authorization %q", auth)
	}
	if len(req.Messages) != 6 || !strings.Contains(req.Messages[0].Content, "written in German") {
		t.Fatalf("messages %+v", req.Messages)
	}
	ex, err := llm.LoadExamples(filepath.Join(testenv.RepoRoot(t), "models", "llm", "fewshot.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for k := range 2 {
		if req.Messages[1+2*k].Content != "Utterance: "+ex["de"][k].Text || !strings.Contains(req.Messages[2+2*k].Content, ex["de"][k].Rationale) {
			t.Errorf("example %d: %+v", k, req.Messages[1+2*k:3+2*k])
		}
	}
	last := req.Messages[5].Content
	if strings.Contains(last, "Erster") || !strings.Contains(last, "- Zweiter Satz.\n- Dritter Satz.\n") || !strings.HasSuffix(last, "Utterance: "+in.Text) {
		t.Errorf("last message %q", last)
	}
	if req.ResponseFormat == nil || req.ResponseFormat.Type != "json_schema" || !strings.Contains(string(req.ResponseFormat.JSONSchema.Schema), `"enum":["negative","neutral","positive"]`) ||
		!req.Logprobs || req.TopLogprobs != 20 || req.Temperature != 0 || req.Model != "tiny" {
		t.Errorf("request %s", body)
	}
}
