//go:build whisper

package asr

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sentio-health/sentio/internal/testenv"
)

// TestWordTimings transcribes real espeak-ng speech with a long pause in the middle ("Thank you
// so much," 1.2 s of silence, "I feel much better now.") and checks the words: their texts joined
// are the transcript without its spaces, their times run forward inside the audio, and the pause
// falls between the words before and after it, where the audio has it.
func TestWordTimings(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "1.wav"), filepath.Join(dir, "2.wav")
	testenv.Espeak(t, first, "Thank you so much,", "-v", "en-us")
	testenv.Espeak(t, second, "I feel much better now.", "-v", "en-us")
	a, b := testenv.LoadWAV(t, first), testenv.LoadWAV(t, second)
	a = a[:lastVoiced(a)]
	pauseStart := int64(len(a)) * 1000 / SampleRate
	pcm := append(append(a, make([]float32, SampleRate*12/10)...), b...)
	pauseEnd := pauseStart + 1200 + int64(firstVoiced(b))*1000/SampleRate
	durMS := int64(len(pcm)) * 1000 / SampleRate

	cfg := testConfig(t)
	cfg.VADModel = testenv.Shared(t, "data/vad/silero-v6.2.0-ggml.bin")
	e := open(t, cfg, 1)
	res, err := e.Transcribe(context.Background(), pcm)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("transcript %q, pause %d-%d ms of %d", res.Text, pauseStart, pauseEnd, durMS)
	var joined strings.Builder
	for _, w := range res.Words {
		t.Logf("%5d %5d %.2f %q", w.StartMS, w.EndMS, w.Probability, w.Text)
		joined.WriteString(w.Text)
	}
	if want := strings.ReplaceAll(res.Text, " ", ""); joined.String() != want || want == "" {
		t.Fatalf("words joined = %q, want the transcript without spaces %q", joined.String(), want)
	}
	for i, w := range res.Words {
		if w.StartMS < 0 || w.EndMS < w.StartMS || w.EndMS > durMS {
			t.Errorf("word %d %q at %d-%d ms: outside 0..%d or ending before it starts", i, w.Text, w.StartMS, w.EndMS, durMS)
		}
		if i > 0 && w.StartMS < res.Words[i-1].StartMS {
			t.Errorf("word %d %q starts at %d ms, before word %d (%d ms)", i, w.Text, w.StartMS, i-1, res.Words[i-1].StartMS)
		}
		if w.Probability <= 0 || w.Probability > 1 {
			t.Errorf("word %d %q: probability %v outside (0, 1]", i, w.Text, w.Probability)
		}
	}
	// The words of each half: "much," ends the first.
	split := -1
	for i, w := range res.Words {
		if strings.HasPrefix(strings.ToLower(w.Text), "much") {
			split = i
			break
		}
	}
	if split < 0 || split+1 >= len(res.Words) {
		t.Fatalf("no word %q followed by the second half in %q", "much,", res.Text)
	}
	const tolerance = 150 // ms: one DTW step of 20 ms is far finer, the small model's attention is not
	before, after := res.Words[split], res.Words[split+1]
	if before.EndMS > pauseStart+tolerance {
		t.Errorf("%q ends at %d ms, into the pause that starts at %d ms", before.Text, before.EndMS, pauseStart)
	}
	if after.StartMS < pauseEnd-tolerance || after.StartMS > pauseEnd+tolerance {
		t.Errorf("%q starts at %d ms; the speech after the pause starts at %d ms (±%d)", after.Text, after.StartMS, pauseEnd, tolerance)
	}
}

// firstVoiced and lastVoiced are the first sample of pcm above -40 dBFS and the one after the
// last such sample.
func firstVoiced(pcm []float32) int {
	for i, x := range pcm {
		if x > 0.01 || x < -0.01 {
			return i
		}
	}
	return len(pcm)
}

func lastVoiced(pcm []float32) int {
	for i := len(pcm) - 1; i >= 0; i-- {
		if pcm[i] > 0.01 || pcm[i] < -0.01 {
			return i + 1
		}
	}
	return 0
}

// BenchmarkWordTimings transcribes one espeak-ng sentence (2.5 s) alternately with an engine that
// times words (DTW) and one that does not, and reports the median time of each and their ratio.
func BenchmarkWordTimings(b *testing.B) {
	p := filepath.Join(b.TempDir(), "a.wav")
	testenv.Espeak(b, p, testenv.CorpusSentence(b, "en.txt", 3), "-v", "en-us")
	pcm := testenv.LoadWAV(b, p)
	cfg := testConfig(b)
	with := open(b, cfg, 1)
	cfg.WordTimings = false
	without := open(b, cfg, 1)
	var on, off []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, e := range []*Engine{with, without} {
			start := time.Now()
			res, err := e.Transcribe(context.Background(), pcm)
			if err != nil {
				b.Fatal(err)
			}
			ms := float64(time.Since(start).Microseconds()) / 1000
			if e == with {
				on = append(on, ms)
				if len(res.Words) == 0 {
					b.Fatal("no words with word timings on")
				}
			} else {
				off = append(off, ms)
				if len(res.Words) != 0 {
					b.Fatal("words with word timings off")
				}
			}
		}
	}
	median := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	mOn, mOff := median(on), median(off)
	b.ReportMetric(mOn, "words-ms")
	b.ReportMetric(mOff, "no-words-ms")
	b.ReportMetric(mOn/mOff, "ratio")
}
