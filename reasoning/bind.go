package reasoning

import (
	"fmt"

	"github.com/sentio-health/sentio/reasoning/features"
	"github.com/sentio-health/sentio/reasoning/rationale"
)

// Feature is one hashed n-gram feature of a text (see the reasoning/features package).
type Feature = features.Feature

// extractor computes a text's features as the model's feature specification says.
type extractor func(text string) ([]Feature, error)

// rationaleFinder chooses a rationale in lang for a text (its features) predicted to have label.
type rationaleFinder func(lang, label string, feats []Feature) (rationale.Result, error)

// newExtractor parses the manifest's feature specification.
func newExtractor(m *Manifest) (extractor, error) {
	spec, err := features.ParseSpec(m.Features)
	if err != nil {
		return nil, err
	}
	return func(text string) ([]Feature, error) { return features.Extract(spec, text), nil }, nil
}

// wordSplitter cuts a text's code points into words, [start, end) each (features.Spec.Words).
type wordSplitter func(text []rune) [][2]int

// newWordSplitter cuts words with the manifest's feature specification (its CJK ranges).
func newWordSplitter(m *Manifest) (wordSplitter, error) {
	spec, err := features.ParseSpec(m.Features)
	if err != nil {
		return nil, err
	}
	return spec.Words, nil
}

// newRationaleFinder loads the manifest's rationale index and checks it covers the model's
// languages.
func newRationaleFinder(m *Manifest) (rationaleFinder, error) {
	if m.Rationale.File == "" {
		return nil, fmt.Errorf("rationale.file is empty")
	}
	ix, err := rationale.Load(m.file(m.Rationale.File))
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, l := range ix.Languages() {
		have[l] = true
	}
	for _, l := range m.Languages {
		if !have[l] {
			return nil, fmt.Errorf("the index %s has no rationales for %q, one of the model's languages", m.Rationale.File, l)
		}
	}
	return ix.Rationale, nil
}
