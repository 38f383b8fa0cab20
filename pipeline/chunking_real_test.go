//go:build whisper

package pipeline

import (
	"testing"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/segment"
)

// Real speech (espeak-ng, two languages per call) through the real Silero VAD: streamed in 10,
// 20, 40, 200 or 1000 ms chunks it is cut as clip mode cuts it, within one chunk or two Silero
// windows (64 ms; the VAD's windows are aligned to the audio it is given).
func TestStreamRealSpeechAnyChunkLengthCutsLikeAClip(t *testing.T) {
	v, err := asr.OpenVAD(testenv.Shared(t, "data/vad/silero-v6.2.0-ggml.bin"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	vad := SileroVAD{v}
	for _, l := range [][2]string{{"en", "fr"}, {"de", "vi"}, {"zh", "en"}} {
		pcm := concat(speak(t, l[0], corpusSentence(t, l[0], 1)), speak(t, l[1], corpusSentence(t, l[1], 2)))
		want, err := segment.Clip(pcm, vad, segment.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ms := range []int{10, 20, 40, 200, 1000} {
			n := segment.SampleRate * ms / 1000
			ch := segment.NewChannel[int](vad, segment.Options{})
			var got []segment.Cut
			take := func(us []segment.Utterance[int]) {
				for _, u := range us {
					got = append(got, segment.Cut{Start: u.Start, End: u.Start + int64(len(u.PCM))})
				}
			}
			for i := 0; i*n < len(pcm); i++ {
				us, _, err := ch.Push(int64(i*n), pcm[i*n:min((i+1)*n, len(pcm))], i)
				if err != nil {
					t.Fatal(err)
				}
				take(us)
			}
			us, _, err := ch.Flush()
			if err != nil {
				t.Fatal(err)
			}
			take(us)
			tol := int64(max(n, 2*512))
			ok := len(got) == len(want)
			for i := 0; ok && i < len(want); i++ {
				ok = abs64(got[i].Start-want[i].Start) <= tol && abs64(got[i].End-want[i].End) <= tol
			}
			if !ok {
				t.Errorf("%v in %d ms chunks: cuts %v (16 kHz samples); clip mode %v", l, ms, got, want)
			}
		}
	}
}
