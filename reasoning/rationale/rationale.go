// Package rationale chooses the rationale of a prediction: a short phrase in the utterance's
// language, in the style of the dataset's human annotators ("objective description", "negative
// medical condition", ...).
//
// The index (the file the manifest's "rationale" object names, gzip-compressed JSON written by
// models/reasoning/rationale.py) holds, per language, the annotators' distinct rationales and the
// word n-gram vector of every training utterance. Rationale finds the k training utterances of the
// same language and predicted label most similar to the input (cosine of sublinear tf-idf word
// n-gram vectors) and picks one of their human rationales, by similarity-weighted vote
// (MethodVote) or by minimum Bayes risk (MethodMBR: the one with the largest similarity-weighted
// ROUGE-L against all k), exactly as the Python trainer scored it on the dev split; when no
// utterance shares a word n-gram with the input, it falls back to the most frequent rationale of
// that label and language.
package rationale

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/sentio-health/sentio/reasoning/features"
)

// Format is the index format this package reads.
const Format = "sentio-rationale-knn/1"

// Result is a chosen rationale and where it came from.
type Result struct {
	// Text is the rationale, in the input's language.
	Text string `json:"text"`
	// Source is "retrieval" (voted among similar training utterances) or "fallback" (the most
	// frequent rationale of the label, when nothing is similar).
	Source string `json:"source"`
	// NeighbourID is the id of the most similar training utterance with the chosen rationale.
	NeighbourID string `json:"neighbour_id,omitempty"`
	// Similarity is that utterance's cosine similarity to the input.
	Similarity float64 `json:"similarity,omitempty"`
}

// Methods this package implements: "knn-vote" (similarity-weighted vote of the k neighbours'
// rationales) and "knn-mbr" (minimum Bayes risk: the neighbour rationale with the largest
// similarity-weighted ROUGE-L against all k neighbours' rationales).
const (
	MethodVote = "knn-vote"
	MethodMBR  = "knn-mbr"
)

// Index is a loaded rationale index. It is read-only after Load and safe for concurrent use.
type Index struct {
	method         string
	k              int
	minSim         float64
	labels         []string
	wordLo, wordHi int64
	idf            map[int64]float64
	idfDefault     float64
	langs          map[string]*language
}

type posting struct {
	entry  int32
	weight float64
}

type language struct {
	rationales []string
	tokens     [][]string
	fallback   map[string]int
	ids        []string
	labels     []int
	rationale  []int
	inverted   map[int64][]posting
}

type fileLanguage struct {
	Rationales []string       `json:"rationales"`
	Tokens     [][]string     `json:"tokens"`
	Fallback   map[string]int `json:"fallback"`
	Entries    struct {
		IDs       []string    `json:"ids"`
		Labels    []int       `json:"labels"`
		Rationale []int       `json:"rationale"`
		Features  [][]int64   `json:"features"`
		Weights   [][]float64 `json:"weights"`
	} `json:"entries"`
}

type file struct {
	Format     string                   `json:"format"`
	Method     string                   `json:"method"`
	K          int                      `json:"k"`
	MinSim     float64                  `json:"min_similarity"`
	Labels     []string                 `json:"labels"`
	WordLo     int64                    `json:"word_lo"`
	WordHi     int64                    `json:"word_hi"`
	IDFIDs     []int64                  `json:"idf_ids"`
	IDFValues  []float64                `json:"idf_values"`
	IDFDefault float64                  `json:"idf_default"`
	Languages  map[string]*fileLanguage `json:"languages"`
}

// Load reads the index at path (gzip-compressed JSON, or plain JSON when the name does not end
// in .gz).
func Load(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rationale: open index: %w (the manifest's \"rationale.file\" names it, relative to the model directory)", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("rationale: %s is not gzip: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	return Read(r)
}

// Read decodes an index from r (uncompressed JSON).
func Read(r io.Reader) (*Index, error) {
	var fl file
	if err := json.NewDecoder(r).Decode(&fl); err != nil {
		return nil, fmt.Errorf("rationale: index does not decode: %w", err)
	}
	if fl.Format != Format {
		return nil, fmt.Errorf("rationale: index format %q is not supported (this build reads %q); retrain the model or upgrade sentio", fl.Format, Format)
	}
	if fl.Method != MethodVote && fl.Method != MethodMBR {
		return nil, fmt.Errorf("rationale: index method %q is not supported (this build implements %s and %s); retrain the model or upgrade sentio", fl.Method, MethodVote, MethodMBR)
	}
	if fl.K < 1 || len(fl.Labels) == 0 || len(fl.IDFIDs) != len(fl.IDFValues) {
		return nil, fmt.Errorf("rationale: index is malformed (k %d, %d labels, %d idf ids for %d values)", fl.K, len(fl.Labels), len(fl.IDFIDs), len(fl.IDFValues))
	}
	ix := &Index{method: fl.Method, k: fl.K, minSim: fl.MinSim, labels: fl.Labels, wordLo: fl.WordLo, wordHi: fl.WordHi,
		idf: make(map[int64]float64, len(fl.IDFIDs)), idfDefault: fl.IDFDefault, langs: map[string]*language{}}
	for i, id := range fl.IDFIDs {
		ix.idf[id] = fl.IDFValues[i]
	}
	for name, fl := range fl.Languages {
		e := fl.Entries
		n := len(e.IDs)
		if len(e.Labels) != n || len(e.Rationale) != n || len(e.Features) != n || len(e.Weights) != n {
			return nil, fmt.Errorf("rationale: index language %s has entry arrays of different lengths", name)
		}
		if ix.method == MethodMBR && len(fl.Tokens) != len(fl.Rationales) {
			return nil, fmt.Errorf("rationale: index language %s has %d token lists for %d rationales", name, len(fl.Tokens), len(fl.Rationales))
		}
		L := &language{rationales: fl.Rationales, tokens: fl.Tokens, fallback: fl.Fallback, ids: e.IDs, labels: e.Labels,
			rationale: e.Rationale, inverted: map[int64][]posting{}}
		for _, lab := range ix.labels {
			if r, ok := fl.Fallback[lab]; !ok || r < 0 || r >= len(fl.Rationales) {
				return nil, fmt.Errorf("rationale: index language %s has no valid fallback for label %s", name, lab)
			}
		}
		for i := range n {
			if e.Rationale[i] < 0 || e.Rationale[i] >= len(fl.Rationales) || len(e.Features[i]) != len(e.Weights[i]) {
				return nil, fmt.Errorf("rationale: index language %s entry %s is malformed", name, e.IDs[i])
			}
			for j, id := range e.Features[i] {
				L.inverted[id] = append(L.inverted[id], posting{int32(i), e.Weights[i][j]})
			}
		}
		ix.langs[name] = L
	}
	return ix, nil
}

// Languages returns the languages the index has rationales for, sorted.
func (ix *Index) Languages() []string {
	out := make([]string, 0, len(ix.langs))
	for l := range ix.langs {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// Rationale returns the rationale for a text with features feats (from features.Extract, sorted
// by id), in language lang, predicted to have label. It fails only for a language or label the
// index does not know.
func (ix *Index) Rationale(lang, label string, feats []features.Feature) (Result, error) {
	L, ok := ix.langs[lang]
	if !ok {
		return Result{}, fmt.Errorf("rationale: no rationales for language %q (the index has %s)", lang, strings.Join(ix.Languages(), ", "))
	}
	lab := slices.Index(ix.labels, label)
	if lab < 0 {
		return Result{}, fmt.Errorf("rationale: label %q is not one of %s", label, strings.Join(ix.labels, ", "))
	}
	// The query: sublinear tf-idf over word n-grams, L2-normalised, in ascending id order.
	type qx struct {
		id int64
		x  float64
	}
	var q []qx
	var norm float64
	for _, f := range feats {
		if f.ID < ix.wordLo || f.ID >= ix.wordHi || f.Value <= 0 {
			continue
		}
		idf, ok := ix.idf[f.ID]
		if !ok {
			idf = ix.idfDefault
		}
		x := (1 + math.Log(float64(f.Value))) * idf
		q = append(q, qx{f.ID, x})
		norm += x * x
	}
	slices.SortFunc(q, func(a, b qx) int { return cmp64(a.id, b.id) })
	sims := map[int32]float64{}
	if norm > 0 {
		norm = math.Sqrt(norm)
		for _, e := range q {
			x := e.x / norm
			for _, p := range L.inverted[e.id] {
				if L.labels[p.entry] == lab {
					sims[p.entry] += x * p.weight
				}
			}
		}
	}
	type cand struct {
		sim   float64
		entry int32
	}
	cands := make([]cand, 0, len(sims))
	for e, s := range sims {
		if s > ix.minSim {
			cands = append(cands, cand{s, e})
		}
	}
	if len(cands) == 0 {
		return Result{Text: L.rationales[L.fallback[label]], Source: "fallback"}, nil
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.sim != b.sim {
			if a.sim > b.sim {
				return -1
			}
			return 1
		}
		return int(a.entry - b.entry)
	})
	cands = cands[:min(ix.k, len(cands))]
	vote := map[int]float64{}
	best := map[int]cand{}
	for _, c := range cands {
		r := L.rationale[c.entry]
		vote[r] += c.sim
		if _, ok := best[r]; !ok {
			best[r] = c
		}
	}
	if ix.method == MethodMBR {
		score := make(map[int]float64, len(best))
		for c := range best {
			var acc float64
			for _, cd := range cands {
				acc += cd.sim * RougeL(L.tokens[c], L.tokens[L.rationale[cd.entry]])
			}
			score[c] = acc
		}
		vote = score
	}
	chosen := -1
	for r, v := range vote {
		if chosen < 0 || v > vote[chosen] || (v == vote[chosen] && r < chosen) {
			chosen = r
		}
	}
	b := best[chosen]
	return Result{Text: L.rationales[chosen], Source: "retrieval", NeighbourID: L.ids[b.entry], Similarity: b.sim}, nil
}

// RougeL is the ROUGE-L F1 of token sequences a and b (their longest common subsequence).
func RougeL(a, b []string) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	dp := make([]int, len(b)+1)
	for _, x := range a {
		prev := 0
		for j, y := range b {
			cur := dp[j+1]
			if x == y {
				dp[j+1] = prev + 1
			} else {
				dp[j+1] = max(dp[j+1], dp[j])
			}
			prev = cur
		}
	}
	lcs := dp[len(b)]
	if lcs == 0 {
		return 0
	}
	p := float64(lcs) / float64(len(a))
	r := float64(lcs) / float64(len(b))
	return 2 * p * r / (p + r)
}

// Method returns the index's method (MethodVote or MethodMBR) and its neighbour count k.
func (ix *Index) Method() (string, int) { return ix.method, ix.k }

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
