package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// sentio analyze runs the whole pipeline on local files: results valid against the schema, a
// summary per file, and a file that is not audio reported with its DLQ reason (exit status 1).
func TestAnalyzeLocalFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real models")
	}
	dir := t.TempDir()
	speech := filepath.Join(dir, "visit.wav")
	testenv.Espeak(t, speech, "The pain in my knee is much better today.", "-v", "en")
	notAudio := filepath.Join(dir, "notes.wav")
	if err := os.WriteFile(notAudio, []byte("these are notes, not audio"), 0o644); err != nil {
		t.Fatal(err)
	}
	vad := "--set=asr.vad_model=" + testenv.Shared(t, "data/vad/silero-v6.2.0-ggml.bin")
	out, errs, code := sentio(t, nil, "analyze", "--json", "--log-level", "warn", vad, speech, notAudio)
	if code != 1 || !strings.Contains(errs, "notes.wav: rejected (not_audio") {
		t.Fatalf("exit %d; want 1 with the not-audio file reported\n%s", code, errs)
	}
	var results, summaries int
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if err := wire.Validate([]byte(line)); err != nil {
			t.Fatalf("analyze printed a document that fails the schema: %v\n%s", err, line)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if m["kind"] == "summary" {
			summaries++
		} else if m["call_id"] == "visit" {
			results++
		}
	}
	if results != 1 || summaries != 1 {
		t.Fatalf("%d results and %d summaries for one sentence\n%s", results, summaries, out)
	}
}
