//go:build whisper

package asr

import (
	"testing"

	"github.com/sentio-health/sentio/internal/testenv"
)

func TestVADOnRealSpeech(t *testing.T) {
	pcm := testenv.LoadWAV(t, testenv.Shared(t, "data/speech/jfk.wav"))
	v, err := OpenVAD(testenv.Shared(t, "data/vad/silero-v6.2.0-ggml.bin"), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	got, err := v.Segments(pcm)
	if err != nil {
		t.Fatal(err)
	}
	// whisper-vad-speech-segments on the same file (data/vad/README.md).
	want := []Span{{320, 2270}, {3270, 4410}, {5380, 7680}, {8160, 10620}}
	if len(got) != len(want) {
		t.Fatalf("segments %v, want %v", got, want)
	}
	for i := range want {
		if abs(got[i].StartMS-want[i].StartMS) > 30 || abs(got[i].EndMS-want[i].EndMS) > 30 {
			t.Errorf("segment %d is %v, want %v (±30 ms)", i, got[i], want[i])
		}
	}
	// Silence has no speech.
	silence, err := v.Segments(make([]float32, 3*SampleRate))
	if err != nil {
		t.Fatal(err)
	}
	if len(silence) != 0 {
		t.Errorf("speech found in silence: %v", silence)
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
