package reasoning

import (
	"encoding/json"
	"errors"
)

// textTokenizer turns text into a transformer's ids and back (the reasoning/tokenize package).
// Its methods are safe for concurrent use.
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

// openTokenizer opens the tokenizer a manifest's transformer.tokenizer object describes; tests
// replace it.
var openTokenizer = func(m *Manifest, spec json.RawMessage) (textTokenizer, error) {
	return nil, errors.New("this build has no tokenizer for transformer models")
}
