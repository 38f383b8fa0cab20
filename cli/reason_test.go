package cli_test

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sentio-health/sentio/internal/testenv"
)

func reasoningModelDir(t *testing.T) string {
	return filepath.Join(testenv.RepoRoot(t), "models", "reasoning")
}

// rationalesByLang reads the shipped rationale index's rationale phrases of each language.
func rationalesByLang(t *testing.T) map[string]map[string]bool {
	t.Helper()
	f, err := os.Open(filepath.Join(reasoningModelDir(t), "rationale.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var ix struct {
		Languages map[string]struct {
			Rationales []string `json:"rationales"`
		} `json:"languages"`
	}
	if err := json.NewDecoder(zr).Decode(&ix); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for l, L := range ix.Languages {
		out[l] = map[string]bool{}
		for _, r := range L.Rationales {
			out[l][r] = true
		}
	}
	return out
}

// sharedRecords returns the first n records of each label from the shared training data of lang.
func sharedRecords(t *testing.T, lang string, n int) []map[string]any {
	t.Helper()
	f, err := os.Open(testenv.Shared(t, "data/sentiment-reasoning/train."+lang+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	per := map[string]int{}
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if l := r["label"].(string); per[l] < n {
			per[l]++
			out = append(out, r)
		}
	}
	return out
}

func TestReasonFiveLanguages(t *testing.T) {
	type input struct {
		ID, Text, Lang string
		giveLang       bool
	}
	var inputs []input
	for _, lang := range []string{"vi", "en", "zh", "de", "fr"} {
		for i, r := range sharedRecords(t, lang, 2) {
			// Half the records carry their language, the others have it detected.
			inputs = append(inputs, input{ID: fmt.Sprintf("%s-%d", lang, i), Text: r["text"].(string), Lang: lang, giveLang: i%2 == 0})
		}
	}
	var stdin strings.Builder
	for _, in := range inputs {
		rec := map[string]any{"id": in.ID, "text": in.Text}
		if in.giveLang {
			rec["lang"] = in.Lang
		}
		b, _ := json.Marshal(rec)
		stdin.Write(b)
		stdin.WriteByte('\n')
	}
	stdin.WriteString("{not json\n")
	stdin.WriteString(`{"id": "no-text", "lang": "en"}` + "\n")

	stdout, stderr, code := sentioIn(t, stdin.String(), "reason", "--model-dir", reasoningModelDir(t), "--set", "reasoning.provider=cpu")
	if code != 1 {
		t.Errorf("exit status %d, want 1 (two bad records); stderr:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "Schema error") {
		t.Errorf("ONNX Runtime's load-time noise reached standard error:\n%.500s", stderr)
	}
	if !strings.Contains(stderr, "2 of") {
		t.Errorf("stderr does not say how many records failed:\n%s", stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != len(inputs)+2 {
		t.Fatalf("%d output records for %d inputs:\n%s", len(lines), len(inputs)+2, stdout)
	}
	rationales := rationalesByLang(t)
	for i, in := range inputs {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(lines[i]), &raw); err != nil {
			t.Fatalf("output line %d: %v", i+1, err)
		}
		for _, key := range []string{"id", "lang", "label", "scores", "rationale", "rationale_source", "evidence", "comprehensiveness", "sufficiency"} {
			if _, ok := raw[key]; !ok {
				t.Errorf("%s: output has no %q: %s", in.ID, key, lines[i])
			}
		}
		var out struct {
			ID              string
			Lang            string
			Label           string
			Scores          map[string]float64
			Rationale       string
			RationaleSource string `json:"rationale_source"`
			Evidence        []struct {
				Start, End int
				Text       string
				Weight     float64
			}
			Comprehensiveness, Sufficiency float64
		}
		if err := json.Unmarshal([]byte(lines[i]), &out); err != nil {
			t.Fatal(err)
		}
		if out.ID != in.ID {
			t.Errorf("record %d: id %q, want %q (order must be kept)", i, out.ID, in.ID)
		}
		if out.Lang != in.Lang {
			t.Errorf("%s: lang %q, want %q (given=%v)", in.ID, out.Lang, in.Lang, in.giveLang)
		}
		if !slices.Contains([]string{"negative", "neutral", "positive"}, out.Label) {
			t.Errorf("%s: label %q", in.ID, out.Label)
		}
		sum := out.Scores["negative"] + out.Scores["neutral"] + out.Scores["positive"]
		if len(out.Scores) != 3 || math.Abs(sum-1) > 1e-5 {
			t.Errorf("%s: scores %v sum to %v", in.ID, out.Scores, sum)
		}
		runes := []rune(in.Text)
		for _, e := range out.Evidence {
			if e.Start < 0 || e.End > len(runes) || e.Start >= e.End || string(runes[e.Start:e.End]) != e.Text {
				t.Errorf("%s: evidence [%d, %d) %q does not slice the input to its text", in.ID, e.Start, e.End, e.Text)
			}
		}
		if out.Rationale == "" || !rationales[out.Lang][out.Rationale] {
			t.Errorf("%s: rationale %q is not one of the %s rationales", in.ID, out.Rationale, out.Lang)
		}
		if out.RationaleSource != "retrieval" && out.RationaleSource != "fallback" {
			t.Errorf("%s: rationale source %q", in.ID, out.RationaleSource)
		}
		if out.Sufficiency < 0 || out.Sufficiency > 1 || math.Abs(out.Comprehensiveness) > 1 {
			t.Errorf("%s: comprehensiveness %v sufficiency %v", in.ID, out.Comprehensiveness, out.Sufficiency)
		}
	}
	for k := range 2 {
		want := fmt.Sprintf("line %d", len(inputs)+1+k)
		var e struct {
			Line  int
			Error string
		}
		line := lines[len(inputs)+k]
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Error == "" || !strings.Contains(e.Error, want) {
			t.Errorf("bad record: output %s, want an error naming %s", line, want)
		}
	}
}

func TestReasonRefusesUnknownKind(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.json"), []byte(`{"kind": "diffusion-lm"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := sentioIn(t, `{"text": "hello"}`+"\n", "reason", "--model-dir", dir)
	if code == 0 || !strings.Contains(stderr, `"diffusion-lm"`) || !strings.Contains(stderr, "ngram-classifier") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

func TestEvalMatchesReason(t *testing.T) {
	records, file := labelledFile(t, []string{"vi", "en", "zh", "de", "fr"}, 10)
	stdout, stderr, code := sentioIn(t, "", "eval", "--data", file, "--json", "--model-dir", reasoningModelDir(t), "--set", "reasoning.provider=cpu")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var rep struct {
		Languages map[string]struct {
			N         int
			Accuracy  float64
			MacroF1   float64 `json:"macro_f1"`
			F1        map[string]float64
			Confusion map[string]map[string]int
			Rationale *struct {
				N          int
				ExactMatch float64 `json:"exact_match"`
				RougeL     float64 `json:"rouge_l"`
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	// The same records through `sentio reason`: eval's accuracy must be what its labels give.
	out, errs, code := sentioIn(t, records, "reason", "--model-dir", reasoningModelDir(t), "--set", "reasoning.provider=cpu")
	if code != 0 {
		t.Fatalf("sentio reason: exit %d\n%s", code, errs)
	}
	correct := map[string]int{}
	gold := strings.Split(strings.TrimSpace(records), "\n")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(gold) {
		t.Fatalf("sentio reason printed %d lines for %d records", len(lines), len(gold))
	}
	for i, line := range lines {
		var o, g struct{ Lang, Label string }
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("sentio reason line %d: %v: %s", i+1, err, line)
		}
		if err := json.Unmarshal([]byte(gold[i]), &g); err != nil {
			t.Fatalf("record %d: %v", i+1, err)
		}
		if o.Label == g.Label {
			correct[g.Lang]++
			correct["all"]++
		}
	}
	for _, lang := range []string{"vi", "en", "zh", "de", "fr", "all"} {
		s, ok := rep.Languages[lang]
		if !ok {
			t.Fatalf("no scores for %s: %s", lang, stdout)
		}
		wantN := 30
		if lang == "all" {
			wantN = 150
		}
		if s.N != wantN || math.Abs(s.Accuracy-float64(correct[lang])/float64(wantN)) > 1e-9 {
			t.Errorf("%s: n %d accuracy %v; reason gives %d/%d correct", lang, s.N, s.Accuracy, correct[lang], wantN)
		}
		total := 0
		for _, row := range s.Confusion {
			for _, c := range row {
				total += c
			}
		}
		if total != s.N || len(s.F1) != 3 || s.MacroF1 <= 0 || s.MacroF1 > 1 {
			t.Errorf("%s: confusion total %d, F1 %v, macro-F1 %v", lang, total, s.F1, s.MacroF1)
		}
		if s.Rationale == nil || s.Rationale.N != wantN || s.Rationale.RougeL < s.Rationale.ExactMatch {
			t.Errorf("%s: rationale scores %+v", lang, s.Rationale)
		}
	}
	// The table form names every language.
	table, stderr, code := sentioIn(t, "", "eval", "--data", file, "--model-dir", reasoningModelDir(t), "--set", "reasoning.provider=cpu")
	if code != 0 || !strings.Contains(table, "macro-F1") || !strings.Contains(table, "confusion zh") {
		t.Errorf("table output (exit %d):\n%s\n%s", code, table, stderr)
	}
}
