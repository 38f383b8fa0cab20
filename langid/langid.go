// Package langid identifies the language of a transcript among the configured languages with
// lingua-go (its models preloaded at start-up), and fuses that with whisper's language
// probabilities. Short or ambiguous text defers to whisper; a language outside the configured
// set (which only whisper can name) marks the utterance unsupported. Every decision says which
// source made it.
package langid

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/pemistahl/lingua-go"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/wire"
)

// Version names the language identifier in results.
const Version = "lingua-go v1.4.0"

// AmbiguityMargin is the smallest lead of lingua's best language over its second below which
// lingua's answer is treated as ambiguous and whisper decides.
const AmbiguityMargin = 0.10

// Decision is the language of one utterance.
type Decision struct {
	// Language is an ISO 639-1 code, or "" when nothing could tell.
	Language string
	// Confidence is the probability of Language (0..1).
	Confidence float64
	// Supported is whether Language is one of the configured languages.
	Supported bool
	// Source is wire.SourceFused, SourceLingua, SourceWhisper or SourceNone.
	Source string
	// Reason says in words why that source decided (for debug logs).
	Reason string
}

// Identifier decides languages; it is safe for concurrent use.
type Identifier struct {
	detector lingua.LanguageDetector
	langs    []string
	inSet    map[string]bool
	minChars int
	weight   float64
}

// New builds the detector for cfg.Languages and preloads their models (about half a second,
// paid here rather than by the first utterance).
func New(cfg config.LangID) (*Identifier, error) {
	if len(cfg.Languages) == 0 {
		return nil, fmt.Errorf("langid: no languages configured (langid.languages)")
	}
	var isos []lingua.IsoCode639_1
	id := &Identifier{inSet: map[string]bool{}, minChars: cfg.MinChars, weight: cfg.WhisperWeight}
	for _, l := range cfg.Languages {
		l = strings.ToLower(strings.TrimSpace(l))
		iso := lingua.GetIsoCode639_1FromValue(l)
		if iso == lingua.UnknownIsoCode639_1 {
			return nil, fmt.Errorf("langid: %q is not an ISO 639-1 language code lingua-go knows (langid.languages)", l)
		}
		isos = append(isos, iso)
		id.langs = append(id.langs, l)
		id.inSet[l] = true
	}
	if id.weight < 0 || id.weight > 1 {
		return nil, fmt.Errorf("langid: whisper_weight %v is outside 0..1", id.weight)
	}
	b := lingua.NewLanguageDetectorBuilder()
	var built lingua.LanguageDetectorBuilder
	if len(isos) == 1 {
		// lingua needs at least two languages; a single configured language still gets a detector
		// that can say "not this one" against English.
		other := lingua.EN
		if isos[0] == lingua.EN {
			other = lingua.FR
		}
		built = b.FromIsoCodes639_1(isos[0], other)
	} else {
		built = b.FromIsoCodes639_1(isos...)
	}
	id.detector = built.WithPreloadedLanguageModels().Build()
	return id, nil
}

// OutsideThreshold is the probability from which whisper's most probable language, over every
// language it knows, marks an utterance unsupported when that language is outside the configured
// set: lingua-go only knows the configured languages and cannot vote against it.
const OutsideThreshold = 0.5

// Outside returns an unsupported decision when whisper's most probable language over all its
// languages (lang, with probability p) is outside the configured set with at least
// OutsideThreshold; ok is false otherwise, and Identify decides.
func (id *Identifier) Outside(lang string, p float64) (d Decision, ok bool) {
	lang = strings.ToLower(lang)
	if lang == "" || id.inSet[lang] || p < OutsideThreshold {
		return Decision{}, false
	}
	return Decision{Language: lang, Confidence: clamp(p), Supported: false, Source: wire.SourceWhisper,
		Reason: fmt.Sprintf("whisper hears %s (%.2f), outside the configured languages", lang, p)}, true
}

// Languages returns the configured languages.
func (id *Identifier) Languages() []string { return append([]string(nil), id.langs...) }

// letters counts the letters of text, a Han, kana or Hangul character counting as two (one such
// character carries about as much as two Latin letters).
func letters(text string) int {
	n := 0
	for _, r := range text {
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
			n += 2
		case unicode.IsLetter(r):
			n++
		}
	}
	return n
}

// Identify decides the language of text given whisper's guess: its most probable language
// (whisperLang, with probability whisperProb) and, when available, its probabilities
// (whisperProbs, any languages).
func (id *Identifier) Identify(text, whisperLang string, whisperProb float64, whisperProbs map[string]float32) Decision {
	wp := map[string]float64{}
	for l, p := range whisperProbs {
		wp[strings.ToLower(l)] = float64(p)
	}
	if len(wp) == 0 && whisperLang != "" {
		wp[strings.ToLower(whisperLang)] = whisperProb
	}
	fromWhisper := func(reason string) Decision {
		if len(wp) == 0 {
			return Decision{Source: wire.SourceNone, Reason: reason + "; whisper gave no language"}
		}
		l, p := argmax(wp)
		return Decision{Language: l, Confidence: clamp(p), Supported: id.inSet[l], Source: wire.SourceWhisper, Reason: reason}
	}
	if n := letters(text); n < id.minChars {
		return fromWhisper(fmt.Sprintf("text has %d letters, fewer than min_chars %d", n, id.minChars))
	}
	cl := map[string]float64{}
	var total float64
	for _, cv := range id.detector.ComputeLanguageConfidenceValues(text) {
		l := strings.ToLower(cv.Language().IsoCode639_1().String())
		if id.inSet[l] {
			cl[l] = cv.Value()
			total += cv.Value()
		}
	}
	if total <= 0 {
		return fromWhisper("lingua found none of the configured languages in the text")
	}
	for l := range cl {
		cl[l] /= total
	}
	best, second := top2(cl)
	if cl[best]-cl[second] < AmbiguityMargin && len(wp) > 0 {
		return fromWhisper(fmt.Sprintf("lingua is ambiguous between %s (%.2f) and %s (%.2f)", best, cl[best], second, cl[second]))
	}
	if len(wp) == 0 || id.weight == 0 {
		return Decision{Language: best, Confidence: clamp(cl[best]), Supported: true, Source: wire.SourceLingua,
			Reason: "lingua alone (no whisper probabilities or whisper_weight 0)"}
	}
	// Fuse: in-set languages get both votes; languages outside the set only whisper's.
	fused := map[string]float64{}
	for l, p := range wp {
		fused[l] += id.weight * p
	}
	for l, p := range cl {
		fused[l] += (1 - id.weight) * p
	}
	l, p := argmax(fused)
	return Decision{Language: l, Confidence: clamp(p), Supported: id.inSet[l], Source: wire.SourceFused,
		Reason: fmt.Sprintf("lingua %s %.2f, whisper %s %.2f, weight %.2f", best, cl[best], maxKey(wp), wp[maxKey(wp)], id.weight)}
}

func argmax(m map[string]float64) (string, float64) {
	k := maxKey(m)
	return k, m[k]
}

func maxKey(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // ties broken by code, deterministically
	best, bp := "", -1.0
	for _, k := range keys {
		if m[k] > bp {
			best, bp = k, m[k]
		}
	}
	return best
}

func top2(m map[string]float64) (string, string) {
	best := maxKey(m)
	rest := map[string]float64{}
	for k, v := range m {
		if k != best {
			rest[k] = v
		}
	}
	return best, maxKey(rest)
}

func clamp(p float64) float64 {
	return min(1, max(0, p))
}
