//go:build whisper

package asr

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sentio-health/sentio/internal/testenv"
)

// longFile writes a WAV file of jfk.wav three times (33 s): longer than whisper's 30 s window, so
// whisper.cpp decodes it in two windows or more.
func longFile(t testing.TB) string {
	t.Helper()
	jfk := testenv.Shared(t, "data/speech/jfk.wav")
	out := filepath.Join(t.TempDir(), "jfk3.wav")
	if b, err := exec.Command("sox", jfk, jfk, jfk, "-r", "16000", "-c", "1", "-b", "16", out).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, b)
	}
	return out
}

// TestSameTextAsWhisperCLIOverWindows is the parity check on a file longer than one window, with
// a model of whisper tiny's dimensions (random weights): within one whisper_full call both keep
// the text of earlier windows as decoder context, and the texts are the same.
func TestSameTextAsWhisperCLIOverWindows(t *testing.T) {
	cfg := testConfig(t)
	cfg.Model = randomModel(t, dimsTiny, false)
	e := open(t, cfg, 1)
	f := longFile(t)
	res, err := e.TranscribeLanguage(context.Background(), testenv.LoadWAV(t, f), "en")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := whisperCLI(t, cfg, "en", f)
	if res.Text != want[0] {
		t.Errorf("go:          %q\nwhisper-cli: %q", res.Text, want[0])
	}
	t.Logf("%d segments, %d bytes of text: %q", len(res.Segments), len(res.Text), res.Text)
}
