//go:build whisper

package asr

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentio-health/sentio/internal/testenv"
)

// TestPromptReachesWhisper transcribes real espeak-ng speech with and without an initial prompt.
// The bundled model was trained without prompts (models/asr/MODEL_CARD.md), so a prompt does not
// help it: it derails it, which shows the prompt reached whisper_full. A prompt over the bound is
// refused before whisper runs.
func TestPromptReachesWhisper(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.wav")
	testenv.Espeak(t, p, "Your test results came back normal.", "-v", "en-us")
	pcm := testenv.LoadWAV(t, p)
	e := open(t, testConfig(t), 1)
	plain, err := e.Transcribe(context.Background(), pcm)
	if err != nil {
		t.Fatal(err)
	}
	prompted, err := e.TranscribeWith(context.Background(), pcm, Options{Prompt: "amoxicillin, Saint Mary clinic"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("without prompt %q, with %q", plain.Text, prompted.Text)
	if plain.Text != "Your test results came back normal." {
		t.Errorf("without a prompt: %q", plain.Text)
	}
	if prompted.Text == plain.Text {
		t.Errorf("the prompt changed nothing (%q): was it passed to whisper?", prompted.Text)
	}
	_, err = e.TranscribeWith(context.Background(), pcm, Options{Prompt: strings.Repeat("amoxicillin, ", 50)})
	if err == nil || !strings.Contains(err.Error(), "512") {
		t.Errorf("a 650-byte prompt: err = %v, want one naming the 512-byte bound", err)
	}
}
