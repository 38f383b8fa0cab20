package features

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// parityRecord is one line of reasoning/testdata/parity/<lang>.jsonl, written by
// models/reasoning/fit.py from the Python reference implementation.
type parityRecord struct {
	ID     string     `json:"id"`
	Lang   string     `json:"lang"`
	Text   string     `json:"text"`
	IDs    []int64    `json:"ids"`
	Values []float32  `json:"values"`
	Spans  [][][2]int `json:"spans"`
}

func loadSpec(t testing.TB) Spec {
	t.Helper()
	s, err := LoadSpec(filepath.Join("..", "..", "models", "reasoning", "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readParity(t testing.TB, lang string) []parityRecord {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "parity", lang+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []parityRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
	for sc.Scan() {
		var r parityRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var parityLangs = []string{"vi", "en", "zh", "de", "fr"}

// TestParityWithPython checks that Go computes exactly the ids, values and spans the Python
// trainer computed on 200 blocked-dev records of each language.
func TestParityWithPython(t *testing.T) {
	spec := loadSpec(t)
	for _, lang := range parityLangs {
		t.Run(lang, func(t *testing.T) {
			recs := readParity(t, lang)
			if len(recs) != 200 {
				t.Fatalf("%d records in the %s fixture, want 200", len(recs), lang)
			}
			for _, r := range recs {
				got := Extract(spec, r.Text)
				if len(got) != len(r.IDs) {
					t.Fatalf("%s %s: %d features, Python has %d (text %q)", lang, r.ID, len(got), len(r.IDs), r.Text)
				}
				for i, f := range got {
					if f.ID != r.IDs[i] || f.Value != r.Values[i] || !slices.Equal(f.Spans, r.Spans[i]) {
						t.Fatalf("%s %s feature %d: Go {%d %v %v}, Python {%d %v %v}", lang, r.ID, i,
							f.ID, f.Value, f.Spans, r.IDs[i], r.Values[i], r.Spans[i])
					}
				}
			}
		})
	}
}
