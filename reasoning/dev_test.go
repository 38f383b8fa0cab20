package reasoning

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentio-health/sentio/internal/testenv"
)

// TestDevMetricsMatchManifest runs the shipped model's blocked dev split (the id ranges its
// manifest names) through the Go runtime and wants the figures training wrote into the manifest:
// accuracy and macro-F1 per language, rationale exact match and ROUGE-L, and the mean
// comprehensiveness and sufficiency, to the manifest's 4 decimals.
func TestDevMetricsMatchManifest(t *testing.T) {
	dir := filepath.Join(testenv.RepoRoot(t), "models", "reasoning")
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Provenance struct {
			Split struct {
				DevIDRanges [][2]string `json:"dev_id_ranges"`
			} `json:"split"`
		} `json:"provenance"`
		Metrics struct {
			Dev       map[string]json.RawMessage `json:"dev"`
			Rationale map[string]struct {
				ExactMatch float64 `json:"exact_match"`
				RougeL     float64 `json:"rouge_l"`
			} `json:"rationale"`
			Faithfulness map[string]struct {
				Comprehensiveness float64 `json:"comprehensiveness"`
				Sufficiency       float64 `json:"sufficiency"`
			} `json:"faithfulness"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	if len(man.Provenance.Split.DevIDRanges) == 0 || len(man.Metrics.Dev) == 0 {
		t.Fatal("the manifest has no dev split or dev metrics")
	}
	inDev := func(id string) bool {
		for _, r := range man.Provenance.Split.DevIDRanges {
			if id >= r[0] && id <= r[1] { // ids are zero-padded: string order is numeric order
				return true
			}
		}
		return false
	}
	m := openShipped(t, nil)
	ev := NewEvaluation()
	for _, lang := range parityLangs {
		f, err := os.Open(testenv.Shared(t, "data/sentiment-reasoning/train."+lang+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		var inputs []Input
		var gold, goldRat []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var r struct{ ID, Text, Label, Rationale string }
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			if inDev(r.ID) {
				inputs = append(inputs, Input{Text: r.Text, Lang: lang})
				gold = append(gold, r.Label)
				goldRat = append(goldRat, r.Rationale)
			}
		}
		f.Close()
		results, errs, err := m.PredictBatch(context.Background(), inputs)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range results {
			if errs[i] != nil {
				t.Fatalf("%s: %v", lang, errs[i])
			}
			ev.AddResult(gold[i], goldRat[i], r)
		}
		got := ev.Scores()[lang]
		comp, suff := got.Faithfulness.Comprehensiveness, got.Faithfulness.Sufficiency
		var want LangScores
		if err := json.Unmarshal(man.Metrics.Dev[lang], &want); err != nil {
			t.Fatalf("manifest metrics.dev.%s: %v", lang, err)
		}
		const tol = 1.5e-4 // the manifest rounds to 4 decimals
		if got.N != want.N || math.Abs(got.Accuracy-want.Accuracy) > tol || math.Abs(got.MacroF1-want.MacroF1) > tol {
			t.Errorf("%s dev: Go n %d accuracy %.4f macro-F1 %.4f; manifest n %d accuracy %.4f macro-F1 %.4f",
				lang, got.N, got.Accuracy, got.MacroF1, want.N, want.Accuracy, want.MacroF1)
		}
		if wr, ok := man.Metrics.Rationale[lang]; ok {
			if got.Rationale == nil || math.Abs(got.Rationale.ExactMatch-wr.ExactMatch) > tol || math.Abs(got.Rationale.RougeL-wr.RougeL) > tol {
				t.Errorf("%s rationale: Go %+v; manifest %+v", lang, got.Rationale, wr)
			}
		}
		if wf, ok := man.Metrics.Faithfulness[lang]; ok {
			if math.Abs(comp-wf.Comprehensiveness) > tol || math.Abs(suff-wf.Sufficiency) > tol {
				t.Errorf("%s faithfulness: Go comprehensiveness %.4f sufficiency %.4f; manifest %.4f %.4f",
					lang, comp, suff, wf.Comprehensiveness, wf.Sufficiency)
			}
		}
		t.Logf("%s: n %d accuracy %.4f macro-F1 %.4f, rationale EM %.4f ROUGE-L %.4f, comprehensiveness %.4f sufficiency %.4f",
			lang, got.N, got.Accuracy, got.MacroF1, got.Rationale.ExactMatch, got.Rationale.RougeL, comp, suff)
	}
}
