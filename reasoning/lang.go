package reasoning

import (
	"fmt"
	"strings"
	"sync"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/langid"
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

// TextDetector returns a Detector over the text alone: the langid package's identifier (lingua-go
// over langs, models preloaded) with no whisper probabilities and no minimum length, since the
// text is all there is. It fails when langid cannot be built for langs.
func TextDetector(langs []string) (Detector, error) {
	id, err := langid.New(config.LangID{Languages: langs})
	if err != nil {
		return nil, err
	}
	return DetectorFunc(func(text string) (string, bool) {
		d := id.Identify(text, "", 0, nil)
		return d.Language, d.Language != "" && d.Supported
	}), nil
}

var defaultDetector = sync.OnceValues(func() (Detector, error) {
	return TextDetector(config.Defaults().LangID.Languages)
})

// DefaultDetector returns the detector used when Options.Detector is nil: TextDetector over the
// default langid.languages (Vietnamese, English, Chinese, German and French), built (and its
// models loaded) on first use.
func DefaultDetector() (Detector, error) { return defaultDetector() }

// settleLang returns the input's language: given (normalised), or detected; it must be one of the
// model's (have; langs lists them for the message, and an empty have accepts any). The errors of
// the text itself (empty, its language unknown or not the model's) are *InputError.
func settleLang(in Input, have map[string]bool, langs []string, d Detector) (lang string, detected bool, err error) {
	if strings.TrimSpace(in.Text) == "" {
		return "", false, &InputError{Message: "reasoning: empty text"}
	}
	lang = normalizeLang(in.Lang)
	if lang == "" {
		if d == nil {
			if d, err = DefaultDetector(); err != nil {
				return "", false, fmt.Errorf("reasoning: the default language detector: %w", err)
			}
		}
		l, ok := d.Detect(in.Text)
		if !ok {
			return "", false, &InputError{Message: fmt.Sprintf("reasoning: cannot tell the language of the text; give it (one of %s)", strings.Join(langs, ", "))}
		}
		lang, detected = l, true
	}
	if len(have) > 0 && !have[lang] {
		return "", false, &InputError{Message: fmt.Sprintf("reasoning: language %q is not one of the model's languages (%s)", lang, strings.Join(langs, ", "))}
	}
	return lang, detected, nil
}

// InputError is a text the model cannot reason about: empty, its language unknown, or a
// language the model was not trained on. Trying again gives the same error, so the pipeline
// publishes such an utterance without a label, saying why, rather than retrying it.
type InputError struct {
	// Message says what is wrong with the text and what the model takes.
	Message string
}

func (e *InputError) Error() string { return e.Message }
