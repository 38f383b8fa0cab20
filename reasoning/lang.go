package reasoning

import (
	"strings"
	"sync"

	"github.com/pemistahl/lingua-go"
)

// Detector identifies the language of a text.
type Detector interface {
	// Detect returns the ISO 639-1 code of text's language, or false when it cannot tell.
	Detect(text string) (lang string, ok bool)
}

// DetectorFunc adapts a function to Detector.
type DetectorFunc func(text string) (string, bool)

// Detect calls f.
func (f DetectorFunc) Detect(text string) (string, bool) { return f(text) }

// linguaDetector is lingua-go restricted to the five languages, with their models preloaded.
type linguaDetector struct{ d lingua.LanguageDetector }

// Detect returns the language lingua-go finds most likely.
func (l linguaDetector) Detect(text string) (string, bool) {
	lang, ok := l.d.DetectLanguageOf(text)
	if !ok {
		return "", false
	}
	return strings.ToLower(lang.IsoCode639_1().String()), true
}

var defaultDetector = sync.OnceValue(func() Detector {
	d := lingua.NewLanguageDetectorBuilder().
		FromLanguages(lingua.Vietnamese, lingua.English, lingua.Chinese, lingua.German, lingua.French).
		WithPreloadedLanguageModels().
		Build()
	return linguaDetector{d}
})

// DefaultDetector returns the detector used when Options.Detector is nil: lingua-go over
// Vietnamese, English, Chinese, German and French, built (and its models loaded) on first use.
// The langid package's detector, which also fuses whisper's probabilities, replaces it in the
// daemon.
func DefaultDetector() Detector { return defaultDetector() }
