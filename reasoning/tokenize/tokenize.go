package tokenize

import (
	"fmt"
	"os"
	"path/filepath"
)

// Spec is the manifest's transformer.tokenizer section. PrefixIDs, SuffixIDs, IDOffset and
// Lowercase apply to type "sentencepiece" only.
type Spec struct {
	File      string  `json:"file"`
	Type      string  `json:"type"` // "sentencepiece" | "tokenizers"
	PrefixIDs []int64 `json:"prefix_ids"`
	SuffixIDs []int64 `json:"suffix_ids"`
	IDOffset  int64   `json:"id_offset"`
	Lowercase bool    `json:"lowercase"`
}

// Tokenizer turns text into model ids and ids back into text; safe for concurrent use.
type Tokenizer interface {
	// Encode returns the ids of text with the special tokens added, truncated to max ids in all
	// (special tokens included; max <= 0: no limit), as Python tokenizers/transformers do with
	// truncation=True, max_length=max.
	Encode(text string, max int) ([]int64, error)
	// EncodePieces returns the ids of text without special tokens and without truncation.
	EncodePieces(text string) ([]int64, error)
	// Decode returns the text of ids, special tokens skipped.
	Decode(ids []int64) (string, error)
	Close() error
}

// Types are the values of Spec.Type this package knows.
const (
	TypeSentencePiece = "sentencepiece"
	TypeTokenizers    = "tokenizers"
)

// Open loads the tokenizer file s.File of the model directory dir with the backend s.Type.
// Its errors name the file or field and what to do.
func Open(dir string, s Spec) (Tokenizer, error) {
	if s.File == "" {
		return nil, fmt.Errorf("tokenizer: transformer.tokenizer.file is empty in %s: name the tokenizer file (tokenizer.json or spiece.model)", filepath.Join(dir, "model.json"))
	}
	path := s.File
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("tokenizer: %w: the model directory must hold the tokenizer file its model.json names (transformer.tokenizer.file); convert the checkpoint again with models/transformer/convert.py", err)
	} else if st.IsDir() {
		return nil, fmt.Errorf("tokenizer: %s is a directory: transformer.tokenizer.file must name a file", path)
	}
	switch s.Type {
	case TypeSentencePiece:
		return openSentencePiece(path, s)
	case TypeTokenizers:
		// prefix_ids, suffix_ids, id_offset and lowercase are ignored: a tokenizer.json says these
		// itself (post_processor, normalizer).
		return openTokenizers(path, false)
	default:
		return nil, fmt.Errorf("tokenizer: transformer.tokenizer.type is %q for %s: use %q (a SentencePiece model) or %q (a Hugging Face tokenizer.json)", s.Type, path, TypeSentencePiece, TypeTokenizers)
	}
}

// truncate cuts pieces so that, with n special ids added around them, the result has at most max
// ids (max <= 0: no limit). A max below n is an error: Hugging Face tokenizers gives no usable
// result there (it underflows and keeps about a word), and no model can take such an input.
func truncate[T any](path string, pieces []T, max, n int) ([]T, error) {
	if max <= 0 {
		return pieces, nil
	}
	if max < n {
		return nil, fmt.Errorf("tokenizer: %s: cannot truncate to %d ids: the tokenizer adds %d special ids; transformer.max_input_tokens must be at least that", path, max, n)
	}
	if len(pieces) > max-n {
		return pieces[:max-n], nil
	}
	return pieces, nil
}
