package reasoning

import (
	"hash/fnv"
	"strings"
)

// Feature is one hashed n-gram feature of a text. TEMPORARY until reasoning/features lands.
type Feature struct {
	ID    int64
	Value float32
	Spans [][2]int
}

// extractor computes a text's features as the model's feature specification says.
type extractor func(text string) ([]Feature, error)

// rationaleFinder returns a rationale in lang for text with the given label, and its source.
type rationaleFinder func(text string, feats []Feature, lang, label string) (string, string, error)

// newExtractor is TEMPORARY: words hashed with FNV-1a modulo 4096.
func newExtractor(m *Manifest) (extractor, error) {
	return func(text string) ([]Feature, error) {
		rs := []rune(strings.ToLower(text))
		acc := map[int64]*Feature{}
		var order []int64
		for i := 0; i < len(rs); {
			if rs[i] == ' ' {
				i++
				continue
			}
			j := i
			for j < len(rs) && rs[j] != ' ' {
				j++
			}
			h := fnv.New64a()
			h.Write([]byte(string(rs[i:j])))
			id := 1 + int64(h.Sum64()%4095)
			f := acc[id]
			if f == nil {
				f = &Feature{ID: id}
				acc[id] = f
				order = append(order, id)
			}
			f.Value++
			f.Spans = append(f.Spans, [2]int{i, j})
			i = j
		}
		out := make([]Feature, 0, len(order))
		for _, id := range order {
			out = append(out, *acc[id])
		}
		return out, nil
	}, nil
}

func newRationaleFinder(m *Manifest) (rationaleFinder, error) {
	return func(text string, feats []Feature, lang, label string) (string, string, error) {
		return "", "none", nil
	}, nil
}
