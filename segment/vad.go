package segment

import "math"

// SampleRate is the rate of the audio segmented: 16 kHz mono float32. It is asr/audio.SampleRate,
// declared again because segment imports nothing of the project; package pipeline, which joins
// the two, does not compile if they differ.
const SampleRate = 16000

// Span is a stretch of speech, in milliseconds from the start of the audio given to the VAD.
type Span struct {
	StartMS, EndMS int64
}

// VAD finds the stretches of speech in 16 kHz mono audio. asr.VAD (Silero) satisfies it through
// an adapter; Energy is the built-in fallback.
type VAD interface {
	Segments(pcm []float32) ([]Span, error)
}

// Energy is a frame-energy voice activity detector: 30 ms frames whose RMS level is above
// ThresholdDB (dBFS) are speech; speech shorter than MinSpeechMS is ignored. It is
// deterministic and context-free (each frame is judged alone), which suits clean audio; use the
// Silero VAD for noisy calls.
type Energy struct {
	// ThresholdDB is the frame level, in dBFS, above which a frame is speech (default -45).
	ThresholdDB float64
	// MinSpeechMS is the shortest speech kept (default 150).
	MinSpeechMS int64
}

const frameMS = 30

// Segments returns the speech stretches of pcm.
func (e Energy) Segments(pcm []float32) ([]Span, error) {
	th := e.ThresholdDB
	if th == 0 {
		th = -45
	}
	minSpeech := e.MinSpeechMS
	if minSpeech == 0 {
		minSpeech = 150
	}
	lin := math.Pow(10, th/20)
	frame := SampleRate * frameMS / 1000
	var spans []Span
	inSpeech := false
	var start int64
	for i := 0; i*frame < len(pcm); i++ {
		f := pcm[i*frame : min((i+1)*frame, len(pcm))]
		var sum float64
		for _, v := range f {
			sum += float64(v) * float64(v)
		}
		voiced := math.Sqrt(sum/float64(len(f))) >= lin
		t := int64(i * frameMS)
		switch {
		case voiced && !inSpeech:
			inSpeech, start = true, t
		case !voiced && inSpeech:
			inSpeech = false
			if t-start >= minSpeech {
				spans = append(spans, Span{start, t})
			}
		}
	}
	if inSpeech {
		end := int64(len(pcm)) * 1000 / SampleRate
		if end-start >= minSpeech {
			spans = append(spans, Span{start, end})
		}
	}
	return spans, nil
}
