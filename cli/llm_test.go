package cli_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sentio-health/sentio/internal/testenv"
)

const llmKey = "sk-cli-0123456789abcdef"

// llmArgs are the flags that point sentio at the LLM endpoint url with models/llm.
func llmArgs(t *testing.T, url string) []string {
	return []string{"--model-dir", filepath.Join(testenv.RepoRoot(t), "models", "llm"), "--set", "reasoning.provider=cpu",
		"--set", "reasoning.llm.url=" + url, "--set", "reasoning.llm.model=tiny", "--set", "reasoning.llm.retry_backoff=10ms",
		"--set", "reasoning.llm.context_utterances=2"}
}

// `sentio reason` with models/llm asks the real llama-server (API key from the environment) and
// writes a well-formed record per input, the model that answered named; the key is not printed.
func TestReasonThroughLLM(t *testing.T) {
	srv := testenv.StartLLMServer(t, 2, "--api-key", llmKey)
	var in strings.Builder
	n := 0
	for _, lang := range []string{"vi", "en", "zh", "de", "fr"} {
		for _, r := range sharedRecords(t, lang, 1) {
			r["id"] = n
			if n%2 == 1 {
				r["context"] = []string{"the previous utterance", "and the one before"}
			}
			b, _ := json.Marshal(r)
			in.Write(b)
			in.WriteByte('\n')
			n++
		}
	}
	env := []string{"SENTIO_REASONING_LLM_API_KEY=" + llmKey, "SENTIO_LOG_LEVEL=debug"}
	stdout, stderr, code := sentioWith(t, env, in.String(), append([]string{"reason"}, llmArgs(t, srv.URL)...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != n {
		t.Fatalf("%d records for %d inputs:\n%s", len(lines), n, stdout)
	}
	for i, line := range lines {
		var o struct {
			ID        int
			Lang      string
			Label     string
			Rationale string
			Model     string
			NoScores  bool `json:"no_scores"`
			Scores    map[string]float64
		}
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		sum := o.Scores["negative"] + o.Scores["neutral"] + o.Scores["positive"]
		if o.ID != i || o.Label == "" || strings.TrimSpace(o.Rationale) == "" || o.Model != "llm tiny" || o.NoScores || math.Abs(sum-1) > 1e-6 {
			t.Errorf("record %d: %s", i, line)
		}
	}
	if strings.Contains(stderr, llmKey) || strings.Contains(stdout, llmKey) {
		t.Errorf("the API key is printed:\n%s", stderr)
	}

	// config print shows it redacted.
	out, _, code := sentioWith(t, env, "", "config", "print")
	if code != 0 || strings.Contains(out, llmKey) || !strings.Contains(out, "api_key: REDACTED") {
		t.Errorf("config print (exit %d) does not redact reasoning.llm.api_key:\n%s", code, out)
	}
}

// `sentio eval` with models/llm reports the scores of the LLM's answers and which model answered;
// with the endpoint down every record is answered by the fallback model, and the report says so.
func TestEvalThroughLLM(t *testing.T) {
	srv := testenv.StartLLMServer(t, 2, "--api-key", llmKey)
	_, file := labelledFile(t, []string{"en", "de"}, 2)
	env := []string{"SENTIO_REASONING_LLM_API_KEY=" + llmKey}
	type report struct {
		Model      struct{ Kind string }
		AnsweredBy map[string]int `json:"answered_by"`
		Languages  map[string]struct {
			N         int
			Confusion map[string]map[string]int
			Rationale *struct{ N int }
		}
	}
	eval := func(url string) report {
		t.Helper()
		stdout, stderr, code := sentioWith(t, env, "", append([]string{"eval", "--data", file, "--json"}, llmArgs(t, url)...)...)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		var r report
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("%v\n%s", err, stdout)
		}
		return r
	}
	r := eval(srv.URL)
	if r.Model.Kind != "llm" || r.AnsweredBy["llm tiny"] != 12 || len(r.AnsweredBy) != 1 {
		t.Errorf("model %q answered by %v, want llm and 12 by llm tiny", r.Model.Kind, r.AnsweredBy)
	}
	for _, lang := range []string{"en", "de"} {
		s := r.Languages[lang]
		total := 0
		for _, row := range s.Confusion {
			for _, n := range row {
				total += n
			}
		}
		if s.N != 6 || total != 6 || s.Rationale == nil || s.Rationale.N != 6 {
			t.Errorf("%s: %+v", lang, s)
		}
	}

	down := eval("http://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)) + "/v1")
	if len(down.AnsweredBy) != 1 || !strings.HasSuffix(firstKey(down.AnsweredBy), "(fallback)") || down.AnsweredBy[firstKey(down.AnsweredBy)] != 12 {
		t.Errorf("endpoint down: answered by %v, want 12 by the fallback", down.AnsweredBy)
	}
}

// labelledFile writes the first n records of each label of each language in langs from the shared
// training data to a file, and returns the records and the file's path.
func labelledFile(t *testing.T, langs []string, n int) (string, string) {
	t.Helper()
	var data strings.Builder
	for _, lang := range langs {
		for _, r := range sharedRecords(t, lang, n) {
			b, _ := json.Marshal(r)
			data.Write(b)
			data.WriteByte('\n')
		}
	}
	file := filepath.Join(t.TempDir(), "labelled.jsonl")
	if err := os.WriteFile(file, []byte(data.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return data.String(), file
}

func firstKey(m map[string]int) string {
	for k := range m {
		return k
	}
	return ""
}
