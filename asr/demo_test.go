package asr

import "testing"

// TestDemoModelInfo: the bundled model's dimensions are recognised, an official model's are not
// (whisper tiny: audio context 1500, width 384; base: 512).
func TestDemoModelInfo(t *testing.T) {
	for _, c := range []struct {
		name string
		info ModelInfo
		want bool
	}{
		{"bundled", ModelInfo{Type: "unknown", AudioCtx: 300, AudioState: 96, AudioLayers: 2, TextState: 96, TextLayers: 2, Vocab: 51865}, true},
		{"tiny", ModelInfo{Type: "tiny", AudioCtx: 1500, AudioState: 384, AudioLayers: 4, TextState: 384, TextLayers: 4, Vocab: 51865}, false},
		{"base", ModelInfo{Type: "base", AudioCtx: 1500, AudioState: 512, AudioLayers: 6, TextState: 512, TextLayers: 6, Vocab: 51865}, false},
		{"tiny run with audio_ctx 300", ModelInfo{Type: "tiny", AudioCtx: 1500, UsedAudioCtx: 300, AudioState: 384, TextState: 384}, false},
	} {
		if got := c.info.Demo(); got != c.want {
			t.Errorf("%s: Demo() = %v, want %v", c.name, got, c.want)
		}
	}
}
