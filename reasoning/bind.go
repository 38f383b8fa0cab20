package reasoning

import (
	"github.com/sentio-health/sentio/reasoning/features"
)

// Feature is one hashed n-gram feature of a text (see the reasoning/features package).
type Feature = features.Feature

// extractor computes a text's features as the model's feature specification says.
type extractor func(text string) ([]Feature, error)

// rationaleFinder returns a rationale in lang for text with the given label, and its source.
type rationaleFinder func(text string, feats []Feature, lang, label string) (string, string, error)

// newExtractor parses the manifest's feature specification.
func newExtractor(m *Manifest) (extractor, error) {
	spec, err := features.ParseSpec(m.Features)
	if err != nil {
		return nil, err
	}
	return func(text string) ([]Feature, error) { return features.Extract(spec, text), nil }, nil
}

// rationaleBound is false while the rationale binding below is temporary.
const rationaleBound = false

// newRationaleFinder is TEMPORARY until reasoning/rationale lands.
func newRationaleFinder(m *Manifest) (rationaleFinder, error) {
	return func(text string, feats []Feature, lang, label string) (string, string, error) {
		return "", "none", nil
	}, nil
}
