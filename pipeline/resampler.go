package pipeline

import (
	"github.com/sentio-health/sentio/asr/resample"
	"github.com/sentio-health/sentio/segment"
)

// chunkResampler resamples one channel of a stream to 16 kHz chunk after chunk as if the stream
// were resampled whole: each chunk is resampled with the source samples before it as context,
// and its last resampleLead source samples are held back until the next chunk gives them their
// right-hand context. Resampling each 20 ms telephony frame on its own pads its edges with
// silence: 30 dB SNR against the whole stream, enough to change whisper's transcripts.
type chunkResampler struct {
	rate    int
	src     []float32 // trailing source samples: the first emitted of them were emitted already
	emitted int
}

// resampleLead is how many source samples, at each side, a resampled chunk needs around it to
// match the whole stream: beyond soxr's filter half-length at 8 kHz.
func resampleLead(rate int) int { return rate / 50 } // 20 ms

// reset forgets the context (a discontinuity: a gap, a replay, a takeover).
func (r *chunkResampler) reset() { r.src, r.emitted = r.src[:0], 0 }

// held is how much audio, at 16 kHz, the resampler holds back.
func (r *chunkResampler) held() int64 {
	return int64(resample.OutputLen(len(r.src)-r.emitted, r.rate, segment.SampleRate))
}

// push resamples chunk x and returns the 16 kHz audio that can be emitted now: what was held
// back of the previous chunk, then x but for its last resampleLead samples.
func (r *chunkResampler) push(x []float32) ([]float32, error) {
	lead := resampleLead(r.rate)
	buf := append(r.src, x...)
	end := max(r.emitted, len(buf)-lead)
	out, err := r.slice(buf, r.emitted, end)
	if err != nil {
		return nil, err
	}
	keep := max(0, end-lead)
	r.src = append(r.src[:0:0], buf[keep:]...)
	r.emitted = end - keep
	return out, nil
}

// flush returns the audio held back (end of stream) and forgets the context.
func (r *chunkResampler) flush() ([]float32, error) {
	out, err := r.slice(r.src, r.emitted, len(r.src))
	r.reset()
	return out, err
}

// slice resamples buf and returns the output for source samples [from, to).
func (r *chunkResampler) slice(buf []float32, from, to int) ([]float32, error) {
	if to <= from {
		return nil, nil
	}
	y, err := resample.Resample(buf, r.rate, segment.SampleRate)
	if err != nil {
		return nil, err
	}
	a := min(len(y), resample.OutputLen(from, r.rate, segment.SampleRate))
	b := min(len(y), resample.OutputLen(to, r.rate, segment.SampleRate))
	return y[a:b], nil
}
