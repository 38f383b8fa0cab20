package rationale

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentio-health/sentio/reasoning/features"
)

var modelDir = filepath.Join("..", "..", "models", "reasoning")

func loadIndex(t testing.TB) (*Index, features.Spec) {
	t.Helper()
	var m struct {
		Rationale struct {
			File string `json:"file"`
		} `json:"rationale"`
	}
	b, err := os.ReadFile(filepath.Join(modelDir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	ix, err := Load(filepath.Join(modelDir, m.Rationale.File))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := features.LoadSpec(filepath.Join(modelDir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	return ix, spec
}

type fixture struct {
	ID        string `json:"id"`
	Lang      string `json:"lang"`
	Text      string `json:"text"`
	Predicted string `json:"predicted"`
	Rationale Result `json:"rationale"`
}

// TestMatchesPython checks that Go chooses the rationale the Python trainer chose (and scored on
// dev) for the 200 parity records of each language.
func TestMatchesPython(t *testing.T) {
	ix, spec := loadIndex(t)
	for _, lang := range []string{"vi", "en", "zh", "de", "fr"} {
		f, err := os.Open(filepath.Join("..", "testdata", "parity", lang+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
		n, retrieved := 0, 0
		for sc.Scan() {
			var r fixture
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			got, err := ix.Rationale(lang, r.Predicted, features.Extract(spec, r.Text))
			if err != nil {
				t.Fatal(err)
			}
			want := r.Rationale
			if got.Text != want.Text || got.Source != want.Source || got.NeighbourID != want.NeighbourID ||
				math.Abs(got.Similarity-want.Similarity) > 1e-9 {
				t.Errorf("%s %s: Go %+v, Python %+v", lang, r.ID, got, want)
			}
			n++
			if got.Source == "retrieval" {
				retrieved++
			}
		}
		f.Close()
		if n != 200 {
			t.Errorf("%s: %d fixture records, want 200", lang, n)
		}
		if retrieved < n*9/10 {
			t.Errorf("%s: only %d of %d rationales retrieved (the rest fell back)", lang, retrieved, n)
		}
	}
}

func TestFallbackAndErrors(t *testing.T) {
	ix, spec := loadIndex(t)
	for _, lang := range ix.Languages() {
		for _, label := range []string{"negative", "neutral", "positive"} {
			got, err := ix.Rationale(lang, label, features.Extract(spec, " \t\n "))
			if err != nil {
				t.Fatal(err)
			}
			if got.Source != "fallback" || got.Text == "" || got.NeighbourID != "" {
				t.Errorf("%s/%s with no features: %+v, want the label's fallback", lang, label, got)
			}
		}
	}
	if _, err := ix.Rationale("xx", "neutral", nil); err == nil || !strings.Contains(err.Error(), `"xx"`) {
		t.Errorf("unknown language: err = %v", err)
	}
	if _, err := ix.Rationale("en", "happy", nil); err == nil || !strings.Contains(err.Error(), `"happy"`) {
		t.Errorf("unknown label: err = %v", err)
	}
}

// TestRationaleInLanguage checks that rationales come from the input's own language: a Chinese
// text gets a rationale with CJK characters, a German one none.
func TestRationaleInLanguage(t *testing.T) {
	ix, spec := loadIndex(t)
	zh, err := ix.Rationale("zh", "negative", features.Extract(spec, "我最近头很痛，晚上睡不着"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.ContainsFunc(zh.Text, func(r rune) bool { return r >= 0x4E00 && r <= 0x9FFF }) {
		t.Errorf("zh rationale %q has no Chinese characters", zh.Text)
	}
	de, err := ix.Rationale("de", "negative", features.Extract(spec, "Ich habe seit Tagen starke Kopfschmerzen"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsFunc(de.Text, func(r rune) bool { return r >= 0x4E00 && r <= 0x9FFF }) || de.Text == "" {
		t.Errorf("de rationale %q is not German", de.Text)
	}
}

func BenchmarkRationale(b *testing.B) {
	ix, spec := loadIndex(b)
	feats := features.Extract(spec, "the patient has had a severe headache and fever for three days")
	b.ResetTimer()
	for b.Loop() {
		if _, err := ix.Rationale("en", "negative", feats); err != nil {
			b.Fatal(err)
		}
	}
}
