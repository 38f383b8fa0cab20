package tokenize

import (
	"encoding/json"
	"fmt"
	"os"
)

// tokenizerFile is the part of a tokenizer.json that decides whether this package can run it
// at parity with Python tokenizers.
type tokenizerFile struct {
	Model struct {
		Type         string `json:"type"`
		ByteFallback bool   `json:"byte_fallback"`
	} `json:"model"`
	Normalizer map[string]any `json:"normalizer"`
}

// readTokenizerFile reads path's model and normalizer sections.
func readTokenizerFile(path string) (*tokenizerFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var f tokenizerFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("tokenizer: %s is not JSON (%v): it must be a Hugging Face tokenizer.json", path, err)
	}
	return &f, nil
}

// unsupported says why github.com/sugarme/tokenizer does not reach parity with Python on this
// file, or "" when it does (WordPiece with BertNormalizer, byte-level BPE, measured by the tests).
// The gaps were measured on the fixtures in reasoning/testdata/tokenize (unigram-json, bpe-json).
func (f *tokenizerFile) unsupported() string {
	switch {
	case f.Model.Type == "Unigram":
		return "its Unigram model (the library panics on some inputs, e.g. Vietnamese text and tabs, and differs on others)"
	case f.Model.Type == "BPE" && f.Model.ByteFallback:
		return "BPE with byte_fallback (the library has no byte fallback and gives <unk> for characters outside the vocabulary)"
	}
	if why := unsupportedNormalizer(f.Normalizer); why != "" {
		return why
	}
	return ""
}

// unsupportedNormalizer names a normalizer in n (nested in Sequence too) the library gets wrong.
func unsupportedNormalizer(n map[string]any) string {
	if n == nil {
		return ""
	}
	switch n["type"] {
	case "Precompiled":
		return "its Precompiled normalizer (SentencePiece's charsmap: control characters and spaces come out differently)"
	case "Replace":
		if p, ok := n["pattern"].(map[string]any); ok && p["Regex"] != nil {
			return "its Replace normalizer with a Regex pattern (the library reads it as an empty string pattern)"
		}
	case "Sequence":
		list, _ := n["normalizers"].([]any)
		for _, m := range list {
			if mm, ok := m.(map[string]any); ok {
				if mm["type"] == "BertNormalizer" {
					return "a BertNormalizer inside a Sequence (the library's BertNormalizer strips accents wrongly)"
				}
				if why := unsupportedNormalizer(mm); why != "" {
					return why
				}
			}
		}
	}
	return ""
}
