//go:build whisper

package asr

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/sentio-health/sentio/internal/editdist"
	"github.com/sentio-health/sentio/internal/testenv"
)

// TestAdaptiveDetectionUsesItsOwnContext: with asr.adaptive_audio_ctx, language detection of an
// utterance encodes with that utterance's context, not with what the worker's last call left in
// the whisper state (whisper.cpp sets a state's audio_ctx only inside whisper_full, after its
// own detection). A short clip's probabilities are the same after a short clip and after a long
// one.
func TestAdaptiveDetectionUsesItsOwnContext(t *testing.T) {
	cfg := testConfig(t)
	cfg.AdaptiveAudioCtx = true
	e := open(t, cfg, 1)
	short := testenv.LoadWAV(t, speechClips(t)[1].path) // German, 3.6 s
	long := testenv.LoadWAV(t, testenv.Shared(t, "data/speech/jfk.wav"))
	if e.audioCtx(len(short)) == e.audioCtx(len(long)) {
		t.Fatalf("the clips get the same context (%d): the test would show nothing", e.audioCtx(len(short)))
	}
	run := func(pcm []float32) Result {
		res, err := e.Transcribe(context.Background(), pcm)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	run(short)
	afterShort := run(short)
	run(long)
	afterLong := run(short)
	if afterShort.DetectedProb != afterLong.DetectedProb || afterShort.Text != afterLong.Text {
		t.Errorf("after a short clip: %s %v %q; after a long one: %s %v %q", afterShort.Detected, afterShort.DetectedProb, afterShort.Text,
			afterLong.Detected, afterLong.DetectedProb, afterLong.Text)
	}
	// Word timings (DTW over the shortened cross-attention) stay within the audio.
	if n := len(afterLong.Words); n == 0 || afterLong.Words[n-1].EndMS > afterLong.DurationMS || afterLong.Words[0].StartMS < 0 {
		t.Errorf("words %+v for %d ms of audio", afterLong.Words, afterLong.DurationMS)
	}
}

// heldoutVoices are espeak-ng voices the bundled model never heard, for the held-out sentences.
var heldoutVoices = map[string][]string{"en": {"en-us+f2", "en+m3"}, "vi": {"vi+f2", "vi+m3"}, "zh": {"cmn+f2", "cmn+m3"}, "de": {"de+f2", "de+m3"}, "fr": {"fr-fr+f2", "fr-fr+m3"}}

// TestAdaptiveAudioCtxAccuracy measures what the adaptive audio context costs in accuracy with
// the bundled model (official models cannot be measured here: their weights cannot be
// downloaded): corpus sentences (every fifth, 14 per language) and the held-out sentences (6 per
// language, two voices) spoken by espeak-ng in voices the model never heard, transcribed with
// language detection by one engine with the full context and one with the adaptive one. It
// logs both character error rates and language accuracies, and fails when the adaptive one is
// worse by more than a percentage point or gets a language wrong that the full one gets right.
func TestAdaptiveAudioCtxAccuracy(t *testing.T) {
	cfg := testConfig(t)
	cfg.WordTimings = false
	full := open(t, cfg, 1)
	cfg.AdaptiveAudioCtx = true
	adaptive := open(t, cfg, 1)
	dir := t.TempDir()
	type tally struct{ errs, chars, langOK, clips, same int }
	var tallies [2][2]tally // [corpus, held out][full, adaptive]
	for _, lang := range []string{"vi", "en", "zh", "de", "fr"} {
		type item struct {
			split     int
			text, wav string
		}
		var items []item
		for n := 0; n < 70; n += 5 {
			items = append(items, item{0, testenv.CorpusSentence(t, lang+".txt", n), ""})
		}
		for n := 0; n < 6; n++ {
			items = append(items, item{1, testenv.CorpusSentence(t, "heldout/"+lang+".txt", n), ""})
		}
		for i, it := range items {
			voice := testVoices[lang]
			if it.split == 1 {
				voice = heldoutVoices[lang][i%2]
			}
			raw, wav := filepath.Join(dir, "raw.wav"), filepath.Join(dir, fmt.Sprintf("%s-%d.wav", lang, i))
			testenv.Espeak(t, raw, it.text, "-v", voice, "-s", "175")
			if b, err := exec.Command("sox", raw, "-r", "16000", "-c", "1", "-b", "16", wav, "pad", "0.3", "0.5").CombinedOutput(); err != nil {
				t.Fatalf("sox: %v\n%s", err, b)
			}
			pcm := testenv.LoadWAV(t, wav)
			ref := cerChars(it.text)
			var texts [2]string
			for k, e := range []*Engine{full, adaptive} {
				res, err := e.Transcribe(context.Background(), pcm)
				if err != nil {
					t.Fatal(err)
				}
				tl := &tallies[it.split][k]
				tl.errs += editdist.Distance(ref, cerChars(res.Text))
				tl.chars += len(ref)
				tl.clips++
				if res.Language == lang {
					tl.langOK++
				}
				texts[k] = res.Text
			}
			if texts[0] == texts[1] {
				tallies[it.split][1].same++
			} else {
				t.Logf("%s (%.1f s): full %q, adaptive %q", lang, float64(len(pcm))/SampleRate, texts[0], texts[1])
			}
		}
	}
	for s, name := range []string{"corpus", "held out"} {
		f, a := tallies[s][0], tallies[s][1]
		cf, ca := float64(f.errs)/float64(f.chars), float64(a.errs)/float64(a.chars)
		t.Logf("%s, %d clips: CER full %.1f%%, adaptive %.1f%%; language right full %d, adaptive %d; same text %d", name, f.clips, 100*cf, 100*ca, f.langOK, a.langOK, a.same)
		if ca > cf+0.01 {
			t.Errorf("%s: the adaptive context's CER %.1f%% is worse than the full one's %.1f%%", name, 100*ca, 100*cf)
		}
		if a.langOK < f.langOK {
			t.Errorf("%s: language right %d times with the adaptive context, %d with the full one", name, a.langOK, f.langOK)
		}
	}
}

// BenchmarkAdaptiveAudioCtx measures, in one run, what the adaptive audio context saves on short
// utterances (the five espeak-ng sentences of speechClips, 2.5-4 s), and what language detection
// costs (whisper.cpp encodes the audio once to detect the language and again to decode): each
// iteration transcribes them with an engine on the full context and one on the adaptive context,
// each with language detection and with the language forced, in an order that rotates. Reported:
// the median time per clip of each (full-ms, adaptive-ms; full-forced-ms, adaptive-forced-ms) and
// the ratios adaptive/full (with detection) and forced/detect (full context). Sub-benchmarks: the bundled model (6 s window),
// and models of whisper tiny's and base's dimensions with random weights (30 s window; randomModel
// with eot: their decoder stops at once, so this is the encoder and language detection, which
// the context changes, without the decoder's per-token work of real speech).
func BenchmarkAdaptiveAudioCtx(b *testing.B) {
	var pcms [][]float32
	for _, c := range speechClips(b) {
		pcms = append(pcms, testenv.LoadWAV(b, c.path))
	}
	for _, m := range speedModels(b) {
		b.Run(m.name, func(b *testing.B) {
			cfg := testConfig(b)
			cfg.Model = m.path()
			cfg.WordTimings = false
			full := open(b, cfg, 1)
			cfg.AdaptiveAudioCtx = true
			adaptive := open(b, cfg, 1)
			var times [4][]float64 // full, adaptive, full forced, adaptive forced
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := 0; j < 4; j++ {
					k := (i + j) % 4
					e := []*Engine{full, adaptive}[k%2]
					lang := ""
					if k >= 2 {
						lang = "en"
					}
					start := time.Now()
					for _, pcm := range pcms {
						if _, err := e.TranscribeLanguage(context.Background(), pcm, lang); err != nil {
							b.Fatal(err)
						}
					}
					times[k] = append(times[k], float64(time.Since(start).Microseconds())/1000/float64(len(pcms)))
				}
			}
			mf, ma, mff, maf := median(times[0]), median(times[1]), median(times[2]), median(times[3])
			b.ReportMetric(mf, "full-ms")
			b.ReportMetric(ma, "adaptive-ms")
			b.ReportMetric(mff, "full-forced-ms")
			b.ReportMetric(maf, "adaptive-forced-ms")
			b.ReportMetric(ma/mf, "adaptive/full")
			b.ReportMetric(mff/mf, "forced/detect")
		})
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
