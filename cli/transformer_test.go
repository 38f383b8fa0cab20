package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentio-health/sentio/internal/testenv"
)

// transformerDir returns a committed random-weight transformer model directory (random-cls,
// random-s2s).
func transformerDir(t *testing.T, name string) string {
	t.Helper()
	d := filepath.Join(testenv.RepoRoot(t), "reasoning", "testdata", "transformer", name)
	if _, err := os.Stat(filepath.Join(d, "model.json")); err != nil {
		t.Skipf("no %s model: %v", name, err)
	}
	return d
}

// TestReasonTransformerKinds: `sentio reason --model-dir` serves the encoder-classifier and
// seq2seq kinds: one record per input with label, scores, occlusion evidence (words of the text)
// and, for seq2seq, a generated rationale; a bad record gets its error and the others go on.
func TestReasonTransformerKinds(t *testing.T) {
	in := `{"id": 1, "lang": "en", "text": "The pain is much worse today."}` + "\n" +
		`{"id": 2, "lang": "vi", "text": "Bệnh nhân cảm thấy khỏe hơn nhiều."}` + "\n" +
		`{"id": 3, "lang": "en", "text": ""}` + "\n"
	for _, c := range []struct{ name, kind, source string }{
		{"random-cls", "encoder-classifier", "none"},
		{"random-s2s", "seq2seq", "generated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := sentioIn(t, in, "reason", "--model-dir", transformerDir(t, c.name),
				"--set", "reasoning.provider=cpu", "--set", "reasoning.occlusion_top_k=2")
			if code != 1 {
				t.Fatalf("exit %d (want 1: one record fails), stderr:\n%s", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if len(lines) != 3 {
				t.Fatalf("%d lines for 3 records:\n%s", len(lines), stdout)
			}
			for _, line := range lines[:2] {
				var r struct {
					Label           string
					Scores          map[string]float64
					Rationale       string
					RationaleSource string `json:"rationale_source"`
					Evidence        []struct{ Text string }
				}
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatal(err)
				}
				if r.Label == "" || len(r.Scores) != 3 || r.RationaleSource != c.source || len(r.Evidence) > 2 {
					t.Errorf("record %s: want a label, 3 scores, rationale source %s, at most 2 evidence words", line, c.source)
				}
				if c.source == "generated" && r.Rationale == "" {
					t.Errorf("record %s: no generated rationale", line)
				}
			}
			if !strings.Contains(lines[2], `"error"`) || !strings.Contains(lines[2], "empty text") {
				t.Errorf("empty text: %s", lines[2])
			}
		})
	}
}

// TestEvalTransformerKinds: `sentio eval` scores the transformer kinds on labelled records.
func TestEvalTransformerKinds(t *testing.T) {
	_, file := labelledFile(t, []string{"vi", "en"}, 3)
	for _, name := range []string{"random-cls", "random-s2s"} {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := sentioIn(t, "", "eval", "--data", file, "--json", "--model-dir", transformerDir(t, name),
				"--set", "reasoning.provider=cpu", "--set", "reasoning.occlusion_top_k=0")
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			var rep struct {
				Model     struct{ Kind string }
				Languages map[string]struct{ N int }
			}
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("%v:\n%s", err, stdout)
			}
			if rep.Languages["all"].N != 18 || rep.Model.Kind == "" {
				t.Errorf("eval report %s: want 18 records scored", stdout)
			}
		})
	}
}
