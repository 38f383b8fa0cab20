//go:build whisper

package asr

import (
	"os"
	"path/filepath"
	"testing"
)

// TestBundledModelIsDemo opens the bundled model, and a copy of it under another name, and wants
// both recognised as the demo model: the check reads the model, not its path.
func TestBundledModelIsDemo(t *testing.T) {
	data, err := os.ReadFile(projectModel(t))
	if err != nil {
		t.Fatal(err)
	}
	renamed := filepath.Join(t.TempDir(), "ggml-production.bin")
	if err := os.WriteFile(renamed, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{projectModel(t), renamed} {
		cfg := testConfig(t)
		cfg.Model = path
		e, err := Open(cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		info := e.Info()
		e.Close()
		if !info.Demo() {
			t.Errorf("%s is not recognised as the bundled demo model: %+v", path, info)
		}
	}
}
