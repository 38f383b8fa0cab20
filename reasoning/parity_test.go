package reasoning

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
)

// parityRecord is a line of testdata/parity/<lang>.jsonl, written by models/reasoning with
// Python: the features, probabilities, evidence and rationale Python computes for a dev record.
type parityRecord struct {
	ID        string     `json:"id"`
	Lang      string     `json:"lang"`
	Text      string     `json:"text"`
	Label     string     `json:"label"`
	IDs       []int64    `json:"ids"`
	Values    []float32  `json:"values"`
	Spans     [][][2]int `json:"spans"`
	Probs     []float64  `json:"probs"`
	Predicted string     `json:"predicted"`
	Evidence  []Evidence `json:"evidence"`
	Rationale struct {
		Text        string  `json:"text"`
		Source      string  `json:"source"`
		NeighbourID string  `json:"neighbour_id"`
		Similarity  float64 `json:"similarity"`
	} `json:"rationale"`
}

var parityLangs = []string{"vi", "en", "zh", "de", "fr"}

func readParity(t testing.TB, lang string) []parityRecord {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "parity", lang+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []parityRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r parityRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("parity %s line %d: %v", lang, len(out)+1, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// openShipped opens the committed model in models/reasoning.
func openShipped(t testing.TB, mod func(*Options)) Model {
	t.Helper()
	o := Options{Config: config.Reasoning{Provider: "cpu", Threads: 1, MaxBatch: 32}}
	if mod != nil {
		mod(&o)
	}
	m, err := Open(filepath.Join(testenv.RepoRoot(t), "models", "reasoning"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestParityGraph runs Python's feature ids and values through the Go runtime's ONNX Runtime
// session and wants Python onnxruntime's probabilities to 1e-5, for 200 dev records per language.
func TestParityGraph(t *testing.T) {
	c := openShipped(t, nil).(*classifier)
	for _, lang := range parityLangs {
		recs := readParity(t, lang)
		if len(recs) < 200 {
			t.Errorf("%s: %d parity records, want 200", lang, len(recs))
		}
		for start := 0; start < len(recs); start += 50 {
			chunk := recs[start:min(start+50, len(recs))]
			rows := make([][]Feature, len(chunk))
			for i, r := range chunk {
				for k := range r.IDs {
					rows[i] = append(rows[i], Feature{ID: r.IDs[k], Value: r.Values[k]})
				}
			}
			probs, _, err := c.infer(rows, true)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range chunk {
				for k := range 3 {
					if d := math.Abs(float64(probs[i][k]) - r.Probs[k]); d > 1e-5 {
						t.Errorf("%s %s: P(%s) Go %v, Python %v", lang, r.ID, Labels[k], probs[i][k], r.Probs[k])
					}
				}
			}
		}
	}
}

// TestParityPredict runs the texts through the whole Go runtime (features, graph, evidence,
// rationale) and wants what Python computed: the same feature ids and values, probabilities to
// 1e-5, label, evidence spans and rationale.
func TestParityPredict(t *testing.T) {
	m := openShipped(t, nil)
	c := m.(*classifier)
	for _, lang := range parityLangs {
		recs := readParity(t, lang)
		inputs := make([]Input, len(recs))
		for i, r := range recs {
			inputs[i] = Input{Text: r.Text, Lang: r.Lang}
		}
		results, errs, err := m.PredictBatch(context.Background(), inputs)
		if err != nil {
			t.Fatal(err)
		}
		bad := 0
		for i, r := range recs {
			if bad > 5 {
				t.Fatalf("%s: too many differences", lang)
			}
			if errs[i] != nil {
				t.Errorf("%s %s: %v", lang, r.ID, errs[i])
				bad++
				continue
			}
			feats, _ := c.extract(r.Text)
			if len(feats) != len(r.IDs) {
				t.Errorf("%s %s: %d features in Go, %d in Python", lang, r.ID, len(feats), len(r.IDs))
				bad++
				continue
			}
			for k, f := range feats {
				if f.ID != r.IDs[k] || f.Value != r.Values[k] {
					t.Errorf("%s %s: feature %d is (%d, %v) in Go, (%d, %v) in Python", lang, r.ID, k, f.ID, f.Value, r.IDs[k], r.Values[k])
					bad++
					break
				}
			}
			got := results[i]
			for k, l := range Labels {
				if d := math.Abs(got.Scores.Get(l) - r.Probs[k]); d > 1e-5 {
					t.Errorf("%s %s: P(%s) Go %v, Python %v", lang, r.ID, l, got.Scores.Get(l), r.Probs[k])
					bad++
				}
			}
			if got.Label != r.Predicted {
				t.Errorf("%s %s: label Go %s, Python %s", lang, r.ID, got.Label, r.Predicted)
				bad++
			}
			if len(got.Evidence) != len(r.Evidence) {
				t.Errorf("%s %s: evidence Go %+v, Python %+v", lang, r.ID, got.Evidence, r.Evidence)
				bad++
			} else {
				for k, e := range r.Evidence {
					g := got.Evidence[k]
					if g.Start != e.Start || g.End != e.End || g.Text != e.Text || math.Abs(g.Weight-e.Weight) > 1e-4 {
						t.Errorf("%s %s: evidence %d Go %+v, Python %+v", lang, r.ID, k, g, e)
						bad++
					}
				}
			}
			if got.Rationale != r.Rationale.Text || got.RationaleSource != r.Rationale.Source {
				t.Errorf("%s %s: rationale Go %q (%s), Python %q (%s)", lang, r.ID, got.Rationale, got.RationaleSource, r.Rationale.Text, r.Rationale.Source)
				bad++
			}
			if got.RationaleNeighbour != r.Rationale.NeighbourID || math.Abs(got.RationaleSimilarity-r.Rationale.Similarity) > 1e-9 {
				t.Errorf("%s %s: rationale neighbour Go %s %v, Python %s %v", lang, r.ID, got.RationaleNeighbour, got.RationaleSimilarity, r.Rationale.NeighbourID, r.Rationale.Similarity)
				bad++
			}
		}
	}
}
