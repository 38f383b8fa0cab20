package reasoning

import (
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
