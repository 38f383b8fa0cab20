package features

import (
	"encoding/json"
	"fmt"
	"os"
)

// Spec is the feature specification of a model: the "features" object of its model.json.
type Spec struct {
	// Normalization must be "nfc-per-segment".
	Normalization string `json:"normalization"`
	// Lowercase must be "simple" (Unicode simple lowercase mapping per code point).
	Lowercase string `json:"lowercase"`
	// CJKRanges are inclusive code point ranges whose characters are word characters and tokens
	// of their own.
	CJKRanges [][2]rune `json:"cjk_ranges"`
	// WordNgrams is the inclusive range of word n-gram lengths.
	WordNgrams [2]int `json:"word_ngrams"`
	// WordJoin joins the tokens of a word n-gram.
	WordJoin string `json:"word_join"`
	// WordPrefix is prepended to a word n-gram before hashing.
	WordPrefix string `json:"word_prefix"`
	// CharNgrams is the inclusive range of character n-gram lengths.
	CharNgrams [2]int `json:"char_ngrams"`
	// CharPrefix is prepended to a character n-gram before hashing.
	CharPrefix string `json:"char_prefix"`
	// Hash must be "fnv1a64".
	Hash string `json:"hash"`
	// WordBuckets is the number of hash buckets of word n-grams.
	WordBuckets uint64 `json:"word_buckets"`
	// WordOffset is the id of the first word bucket.
	WordOffset int64 `json:"word_offset"`
	// CharBuckets is the number of hash buckets of character n-grams.
	CharBuckets uint64 `json:"char_buckets"`
	// CharOffset is the id of the first character bucket.
	CharOffset int64 `json:"char_offset"`
	// NumIDs is the number of ids the model knows (rows of its weight tables), padding included.
	NumIDs int64 `json:"num_ids"`
	// PaddingID is the id that pads a batch row; no feature has it.
	PaddingID int64 `json:"padding_id"`
	// PunctTokens makes every punctuation or symbol code point (general category P or S) a token
	// of its own, so word n-grams see "!" and "?".
	PunctTokens bool `json:"punct_tokens"`
	// CharRuns says which code points form the runs character n-grams are taken over: "word"
	// (word characters; the default when empty) or "word_punct" (word, punctuation and symbol).
	CharRuns string `json:"char_runs"`
	// Value must be "count".
	Value string `json:"value"`
}

// ParseSpec decodes and validates a manifest's "features" object.
func ParseSpec(raw []byte) (Spec, error) {
	var s Spec
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("features: the manifest's \"features\" object does not decode: %w", err)
	}
	return s, s.Validate()
}

// LoadSpec reads the "features" object of the manifest at path (a model.json).
func LoadSpec(path string) (Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("features: read manifest: %w", err)
	}
	var m struct {
		Features json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Spec{}, fmt.Errorf("features: %s is not a JSON manifest: %w", path, err)
	}
	if len(m.Features) == 0 {
		return Spec{}, fmt.Errorf("features: %s has no \"features\" object", path)
	}
	return ParseSpec(m.Features)
}

// Validate reports the first setting this package cannot compute as the model expects.
func (s Spec) Validate() error {
	bad := func(field string, got any, want string) error {
		return fmt.Errorf("features: spec %s = %v is not supported (this build implements %s); retrain the model or upgrade sentio", field, got, want)
	}
	switch {
	case s.Normalization != "nfc-per-segment":
		return bad("normalization", s.Normalization, `"nfc-per-segment"`)
	case s.Lowercase != "simple":
		return bad("lowercase", s.Lowercase, `"simple"`)
	case s.Hash != "fnv1a64":
		return bad("hash", s.Hash, `"fnv1a64"`)
	case s.Value != "count":
		return bad("value", s.Value, `"count"`)
	case s.CharRuns != "" && s.CharRuns != "word" && s.CharRuns != "word_punct":
		return bad("char_runs", s.CharRuns, `"word" or "word_punct"`)
	case s.WordNgrams[0] < 1 || s.WordNgrams[1] < s.WordNgrams[0]:
		return bad("word_ngrams", s.WordNgrams, "1 <= lo <= hi")
	case s.CharNgrams[0] < 1 || s.CharNgrams[1] < s.CharNgrams[0]:
		return bad("char_ngrams", s.CharNgrams, "1 <= lo <= hi")
	case s.WordBuckets == 0 || s.CharBuckets == 0:
		return bad("word_buckets/char_buckets", [2]uint64{s.WordBuckets, s.CharBuckets}, "positive bucket counts")
	case s.WordOffset <= s.PaddingID && s.PaddingID < s.WordOffset+int64(s.WordBuckets),
		s.CharOffset <= s.PaddingID && s.PaddingID < s.CharOffset+int64(s.CharBuckets):
		return bad("padding_id", s.PaddingID, "a padding id outside the word and char id ranges")
	case s.WordOffset+int64(s.WordBuckets) > s.NumIDs || s.CharOffset+int64(s.CharBuckets) > s.NumIDs:
		return bad("num_ids", s.NumIDs, "num_ids covering every word and char id")
	}
	for _, r := range s.CJKRanges {
		if r[1] < r[0] {
			return bad("cjk_ranges", r, "ranges with lo <= hi")
		}
	}
	return nil
}

// IsWordID reports whether id is a word n-gram id.
func (s Spec) IsWordID(id int64) bool {
	return id >= s.WordOffset && id < s.WordOffset+int64(s.WordBuckets)
}
