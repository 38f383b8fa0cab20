package asr

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
)

func TestFlashAttentionOnlyForWhispersWindow(t *testing.T) {
	bundled := filepath.Join(testenv.RepoRoot(t), config.DefaultASRModel)
	official := filepath.Join(t.TempDir(), "official.bin")
	// The header of a model with whisper's 30 s window: "ggml", n_vocab 51865, n_audio_ctx 1500.
	if err := os.WriteFile(official, []byte{0x6c, 0x6d, 0x67, 0x67, 0x99, 0xca, 0, 0, 0xdc, 0x05, 0, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cfg  config.ASR
		want bool
	}{
		{config.ASR{Model: bundled}, false},                 // audio context 300 (6 s)
		{config.ASR{Model: official}, true},                 // 1500
		{config.ASR{Model: official, AudioCtx: 768}, false}, // a shortened window
		{config.ASR{Model: bundled, AudioCtx: 1500}, true},  // as configured
		{config.ASR{Model: "/nonexistent/model.bin"}, true}, // whisper.cpp's default; loading fails anyway
	} {
		if got := FlashAttention(c.cfg); got != c.want {
			t.Errorf("FlashAttention(%s, audio_ctx %d) = %v; want %v", filepath.Base(c.cfg.Model), c.cfg.AudioCtx, got, c.want)
		}
	}
}
