package wire

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// HeaderPrompt is a call's custom vocabulary: whisper's initial prompt for every utterance of
// the call (drug names, clinic names, spellings), instead of asr.prompt. At most MaxPromptBytes
// of UTF-8 text without control characters; a longer or malformed one is rejected as bad_header.
// In stream mode the prompt of chunk 0 counts for the whole call (later chunks' headers are
// checked but not used), so that a replay transcribes the same way.
const HeaderPrompt = "Sentio-Prompt"

// MaxPromptBytes bounds an initial prompt (asr.prompt, HeaderPrompt). whisper conditions on at
// most half its text context of prompt tokens (224 for the official models, 128 characters for the
// bundled one) and keeps the last ones of a longer prompt: 512 bytes is about 100 to 200 tokens of
// a word list in the languages sentio identifies.
const MaxPromptBytes = 512

// CheckPrompt returns what is wrong with an initial prompt, or nil: more than MaxPromptBytes,
// not UTF-8, or a control character (a line break included: list words with commas).
func CheckPrompt(p string) error {
	if len(p) > MaxPromptBytes {
		return fmt.Errorf("the prompt is %d bytes, more than the %d allowed; list fewer words (the most important ones: whisper keeps only about 224 tokens of it)", len(p), MaxPromptBytes)
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("the prompt is not UTF-8 text")
	}
	if i := strings.IndexFunc(p, unicode.IsControl); i >= 0 {
		return fmt.Errorf("the prompt has a control character at byte %d; separate words with commas or spaces", i)
	}
	return nil
}

// PromptOf returns the HeaderPrompt of an input, trimmed ("" when absent), or a bad_header
// HeaderError saying what is wrong with it.
func PromptOf(h nats.Header) (string, error) {
	p := strings.TrimSpace(h.Get(HeaderPrompt))
	if err := CheckPrompt(p); err != nil {
		return "", &HeaderError{HeaderPrompt, ReasonBadHeader, err.Error()}
	}
	return p, nil
}
