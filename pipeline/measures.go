package pipeline

import (
	"math"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/wire"
)

// silenceDBFS is the loudness reported for digital silence (the RMS of all-zero samples is -inf).
const silenceDBFS = -100

// loudnessDBFS is the RMS level of pcm in dB relative to full scale (a full-scale square wave is
// 0 dBFS, a full-scale sine -3.01), rounded to 0.01 dB; at least silenceDBFS.
func loudnessDBFS(pcm []float32) float64 {
	if len(pcm) == 0 {
		return silenceDBFS
	}
	var sum float64
	for _, x := range pcm {
		sum += float64(x) * float64(x)
	}
	rms := math.Sqrt(sum / float64(len(pcm)))
	if rms == 0 {
		return silenceDBFS
	}
	return max(silenceDBFS, math.Round(2000*math.Log10(rms))/100)
}

// callWords places an utterance's words in the call: their times (ms from the utterance's start)
// shifted by startMS and clamped to [startMS, endMS]. nil when there are none.
func callWords(words []asr.Word, startMS, endMS int64) []wire.Word {
	if len(words) == 0 {
		return nil
	}
	out := make([]wire.Word, len(words))
	for i, w := range words {
		s := min(max(startMS+w.StartMS, startMS), endMS)
		e := min(max(startMS+w.EndMS, s), endMS)
		out[i] = wire.Word{Text: w.Text, StartMS: s, EndMS: e, Probability: math.Round(float64(w.Probability)*1000) / 1000}
	}
	return out
}
