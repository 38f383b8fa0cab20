// Package asr is sentio's speech recognition stage: whisper.cpp, with one model loaded once and
// shared by N workers that each own a whisper state (contexts of one model are not safe to use
// in parallel, states are), voice activity detection with whisper.cpp's Silero VAD so silence is
// not transcribed, and whisper's language probabilities restricted to the configured languages,
// returned with the transcript for the langid stage to fuse.
//
// Usage:
//
//	eng, err := asr.Open(cfg.ASR, cfg.Pipeline.ASRWorkers) // loads the model once
//	defer eng.Close()
//	a, err := audio.Decode(data, audio.Options{MaxDuration: cfg.ASR.MaxDuration})
//	res, err := eng.Transcribe(ctx, a.Samples) // blocks until a worker is free
//	// res.Text, res.Language, res.LanguageProb, res.LanguageProbs, res.Segments, res.Words ...
//	res, err = eng.TranscribeWith(ctx, a.Samples, asr.Options{Prompt: "amoxicillin, Saint Mary clinic"})
//
// Words are timed with whisper.cpp's DTW alignment (its token t_dtw), or, for models run with
// flash attention, with its timestamp-token heuristic, and each word is trimmed to the voiced
// audio inside it (see Word). A prompt (asr.prompt, or per call Options.Prompt) is whisper's
// initial prompt: custom vocabulary for official models; the bundled model, trained without
// prompts, transcribes worse with one.
//
// Settings (config.ASR): asr.model, asr.vad_model (empty: no VAD), asr.threads (per worker),
// asr.languages and asr.language (forced), asr.prompt, asr.word_timings, asr.audio_ctx,
// asr.adaptive_audio_ctx (see audioctx.go), asr.no_timestamps, asr.no_fallback,
// asr.use_gpu. use_gpu lets whisper.cpp pick a ggml GPU backend when one is installed (Debian:
// libggml0-backend-cuda or -vulkan); ModelInfo.Device says which device it got and DeviceLine is
// the start-up line. The tests run it on ggml's Vulkan backend over Mesa's software device
// (llvmpipe), which ggml uses only when GGML_VK_VISIBLE_DEVICES=0 names it (gpu_whisper_test.go).
//
// whisper.cpp's CPU backend uses OpenMP. On a machine whose cores are oversubscribed, OpenMP's
// default spin-waiting between threads can slow whisper-cli down by an order of magnitude
// (measured here: 189 ms per decoder step at -t 2 against 8 ms with OMP_WAIT_POLICY=passive);
// set OMP_WAIT_POLICY=passive in the service environment on shared machines.
//
// The cgo code is behind the build tag whisper (make build sets it). Without it, Open returns an
// error saying how to build with whisper.cpp, so the pure-Go packages still build and test on a
// plain host. Audio decoding (WAV, raw PCM, G.711) is in the subpackage asr/audio, the resampler
// in asr/resample and model downloads in asr/fetch.
package asr

import (
	"errors"
	"math"
	"sort"
	"strings"
	"unicode"

	"github.com/sentio-health/sentio/asr/audio"
	"github.com/sentio-health/sentio/wire"
)

// SampleRate is the sample rate Transcribe expects: 16 kHz mono float32, as asr/audio decodes.
const SampleRate = audio.SampleRate

// Segment is a stretch of transcribed speech.
type Segment struct {
	// StartMS and EndMS are the segment's position in the input audio, in milliseconds.
	StartMS int64 `json:"start_ms"`
	EndMS   int64 `json:"end_ms"`
	// Text is the segment's transcript.
	Text string `json:"text"`
	// NoSpeechProb is whisper's probability that the segment holds no speech.
	NoSpeechProb float32 `json:"no_speech_prob"`
}

// Result is the transcript of one piece of audio.
type Result struct {
	// Text is the whole transcript: the segments' texts joined, trimmed. It is empty when voice
	// activity detection found no speech.
	Text string `json:"text"`
	// Language is the language the audio was transcribed in (ISO 639-1): the forced language,
	// or the most probable of the configured languages. Empty when there was no speech.
	Language string `json:"language"`
	// LanguageProb is Language's probability among the configured languages (1 when forced).
	LanguageProb float32 `json:"language_probability"`
	// LanguageProbs are whisper's language probabilities restricted to the configured languages
	// and renormalised to sum to 1; nil when the language was forced or there was no speech.
	LanguageProbs map[string]float32 `json:"language_probabilities,omitempty"`
	// Detected is whisper's most probable language over every language the model knows, before
	// the restriction to the configured ones: when it lies outside them, the speech is in a
	// language sentio was not configured for. Empty when the language was forced or there was
	// no speech.
	Detected string `json:"detected_language,omitempty"`
	// DetectedProb is Detected's probability among all the model's languages.
	DetectedProb float32 `json:"detected_probability,omitempty"`
	// Segments are the transcribed segments, in order.
	Segments []Segment `json:"segments"`
	// Words are the transcript's words with their times, in order (see Word); their texts,
	// joined, are Text without its spaces. Empty when asr.word_timings is false.
	Words []Word `json:"words"`
	// DurationMS is the length of the input audio.
	DurationMS int64 `json:"duration_ms"`
	// SpeechMS is how much of it voice activity detection kept (DurationMS without VAD).
	SpeechMS int64 `json:"speech_ms"`
}

// Options are the per-call settings of a transcription (Engine.TranscribeWith).
type Options struct {
	// Language forces a language (ISO 639-1, one whisper knows); empty lets the configuration
	// decide (asr.language, or detection).
	Language string
	// Prompt is whisper's initial prompt for this call: words, names and spellings the audio is
	// likely to contain (drug names, clinic names), at most MaxPromptBytes; empty uses asr.prompt.
	Prompt string
	// LanguageHint is the language the audio is likely in (its call's previous utterance's), for
	// asr.guess_language; it changes the work done, never the result.
	LanguageHint string
}

// MaxPromptBytes bounds an initial prompt (asr.prompt, the Sentio-Prompt header): whisper keeps at
// most half its text context of prompt tokens (224 for official models; a token is a few bytes of
// text in the languages sentio identifies), and a longer prompt would be cut silently.
const MaxPromptBytes = wire.MaxPromptBytes

// CheckPrompt returns an error naming what is wrong with an initial prompt: too long, not
// UTF-8, or holding control characters.
func CheckPrompt(p string) error { return wire.CheckPrompt(p) }

// Errors returned by the engine.
var (
	// ErrNotBuilt is returned by Open in a binary built without whisper.cpp.
	ErrNotBuilt = errors.New("asr: this binary was built without whisper.cpp; build with -tags whisper (make build)")
	// ErrClosed is returned by Transcribe after Close.
	ErrClosed = errors.New("asr: engine is closed")
	// ErrEmptyAudio is returned for audio with no samples.
	ErrEmptyAudio = errors.New("asr: no audio samples")
)

// restrict keeps the probabilities of the allowed languages and renormalises them to sum to 1;
// it returns them with the most probable language (ties go to the earlier language in allowed).
func restrict(all map[string]float32, allowed []string) (map[string]float32, string, float32) {
	out := make(map[string]float32, len(allowed))
	var sum float64
	for _, l := range allowed {
		p := all[l]
		if p < 0 || math.IsNaN(float64(p)) {
			p = 0
		}
		out[l] = p
		sum += float64(p)
	}
	best, bestP := "", float32(-1)
	for _, l := range allowed {
		if sum > 0 {
			out[l] = float32(float64(out[l]) / sum)
		} else {
			out[l] = 1 / float32(len(allowed))
		}
		if out[l] > bestP {
			best, bestP = l, out[l]
		}
	}
	return out, best, bestP
}

// joinText joins segment texts the way whisper-cli prints them into one line: each segment's
// text trimmed, separated by a space (none between CJK characters).
func joinText(segs []Segment) string {
	var b strings.Builder
	for _, s := range segs {
		t := strings.TrimSpace(s.Text)
		if t == "" {
			continue
		}
		if b.Len() > 0 && !(isCJK(lastRune(b.String())) && isCJK(firstRune(t))) {
			b.WriteByte(' ')
		}
		b.WriteString(t)
	}
	return b.String()
}

func lastRune(s string) rune {
	r := []rune(s)
	if len(r) == 0 {
		return 0
	}
	return r[len(r)-1]
}

func firstRune(s string) rune {
	for _, r := range s {
		return r
	}
	return 0
}

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.In(r, unicode.Hiragana, unicode.Katakana)
}

// speechSpan is a stretch of the input kept by voice activity detection and where it sits in
// the audio given to whisper.
type speechSpan struct {
	srcStart, srcEnd int // samples in the input
	dstStart         int // sample offset in the concatenated audio
}

// gapSamples is the silence put between kept stretches (0.1 s, as whisper.cpp's own VAD does).
const gapSamples = SampleRate / 10

// concatSpeech copies the spans of pcm into one buffer, separated by gapSamples of silence, and
// fills in each span's dstStart.
func concatSpeech(pcm []float32, spans []speechSpan) []float32 {
	n := 0
	for i := range spans {
		n += spans[i].srcEnd - spans[i].srcStart
	}
	out := make([]float32, 0, n+gapSamples*len(spans))
	for i := range spans {
		if i > 0 {
			out = append(out, make([]float32, gapSamples)...)
		}
		spans[i].dstStart = len(out)
		out = append(out, pcm[spans[i].srcStart:spans[i].srcEnd]...)
	}
	return out
}

// mapTime maps a time in the concatenated audio (ms) back to the input's time (ms). A time in a
// gap maps to the end of the span before it.
func mapTime(ms int64, spans []speechSpan) int64 {
	if len(spans) == 0 {
		return ms
	}
	s := int(ms * SampleRate / 1000)
	i := sort.Search(len(spans), func(i int) bool { return spans[i].dstStart > s }) - 1
	if i < 0 {
		i = 0
	}
	sp := spans[i]
	src := sp.srcStart + (s - sp.dstStart)
	if src > sp.srcEnd {
		src = sp.srcEnd
	}
	if src < sp.srcStart {
		src = sp.srcStart
	}
	return int64(src) * 1000 / SampleRate
}

// Span is a stretch of audio in milliseconds.
type Span struct {
	StartMS int64 `json:"start_ms"`
	EndMS   int64 `json:"end_ms"`
}

// vadOverlap extends each speech stretch at its end (0.1 s), as whisper.cpp's own VAD path does.
const vadOverlap = SampleRate / 10

// spansOf turns VAD segments into sample ranges of an n-sample input, extended by vadOverlap,
// clipped and made non-overlapping.
func spansOf(segs []Span, n int) []speechSpan {
	spans := make([]speechSpan, 0, len(segs))
	for _, sg := range segs {
		s := int(sg.StartMS * SampleRate / 1000)
		end := int(sg.EndMS*SampleRate/1000) + vadOverlap
		s = max(0, min(s, n))
		end = max(s, min(end, n))
		if len(spans) > 0 && s < spans[len(spans)-1].srcEnd {
			s = spans[len(spans)-1].srcEnd
		}
		if end > s {
			spans = append(spans, speechSpan{srcStart: s, srcEnd: end})
		}
	}
	return spans
}

// splitSpans cuts spans longer than max samples into equal parts of at most max samples.
func splitSpans(spans []speechSpan, max int) []speechSpan {
	if max <= 0 {
		return spans
	}
	var out []speechSpan
	for _, sp := range spans {
		n := sp.srcEnd - sp.srcStart
		parts := (n + max - 1) / max
		if parts <= 1 {
			out = append(out, sp)
			continue
		}
		for k := 0; k < parts; k++ {
			out = append(out, speechSpan{srcStart: sp.srcStart + n*k/parts, srcEnd: sp.srcStart + n*(k+1)/parts})
		}
	}
	return out
}
