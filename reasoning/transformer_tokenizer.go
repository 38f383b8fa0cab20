package reasoning

import (
	"encoding/json"
	"fmt"

	"github.com/sentio-health/sentio/reasoning/tokenize"
)

// textTokenizer turns text into a transformer's ids and back (tokenize.Tokenizer). Its methods
// are safe for concurrent use.
type textTokenizer interface {
	// Encode returns the ids of text as the model reads it, special tokens included, truncated
	// to at most max ids (max <= 0: no limit).
	Encode(text string, max int) ([]int64, error)
	// EncodePieces returns the ids of text without special tokens (a label string, a separator).
	EncodePieces(text string) ([]int64, error)
	// Decode returns the text of ids, special tokens left out.
	Decode(ids []int64) (string, error)
	// Close releases the tokenizer.
	Close() error
}

// openTokenizer opens the tokenizer a manifest's transformer.tokenizer object describes (the
// reasoning/tokenize package).
var openTokenizer = func(m *Manifest, raw json.RawMessage) (textTokenizer, error) {
	var spec tokenize.Spec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, fmt.Errorf("does not decode: %w", err)
	}
	return tokenize.Open(m.Dir, spec)
}

// openTransformer is how both transformer kinds start: the manifest's transformer section
// checked, its tokenizer opened and ONNX Runtime loaded. The caller closes the tokenizer when it
// fails later.
func openTransformer(m *Manifest, o Options) (*TransformerSpec, textTokenizer, error) {
	spec, err := transformerSpec(m)
	if err != nil {
		return nil, nil, err
	}
	tok, err := openTokenizer(m, spec.Tokenizer)
	if err != nil {
		return nil, nil, fmt.Errorf("reasoning: model %s: transformer.tokenizer: %w", m.Path, err)
	}
	if _, err := initORT(o.Config.ORTLibrary, o.Logger); err != nil {
		tok.Close()
		return nil, nil, err
	}
	return spec, tok, nil
}
