package asr

import "testing"

func TestAdaptiveAudioCtx(t *testing.T) {
	const s = SampleRate
	for _, c := range []struct {
		name                    string
		samples, configured, nc int
		flash                   bool
		want                    int
	}{
		{"3 s, official model", 3 * s, 0, 1500, true, 256},           // 150 + 32 positions, up to 256
		{"6 s, official model", 6 * s, 0, 1500, true, 512},           // 300 + 32
		{"10 s, official model", 10 * s, 0, 1500, true, 768},         // 500 + 32
		{"28 s, official model: full", 28 * s, 0, 1500, true, 0},     // 1432 rounds to 1536 > 1500
		{"60 s, official model: full", 60 * s, 0, 1500, true, 0},     // whisper_full windows it
		{"3 s, bundled model", 3 * s, 0, 300, false, 192},            // 150 + 32, up to 192
		{"1 s, bundled model", s, 0, 300, false, 96},                 // 50 + 32
		{"5.5 s, bundled model: full", 11 * s / 2, 0, 300, false, 0}, // 275 + 32 > 300
		{"3 s, audio_ctx 768", 3 * s, 768, 1500, false, 192},
		{"20 s, audio_ctx 768: the configured", 20 * s, 768, 1500, false, 768},
		{"one sample", 1, 0, 1500, true, 256},
	} {
		if got := adaptiveAudioCtx(c.samples, c.configured, c.nc, c.flash); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
