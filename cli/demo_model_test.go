package cli_test

import (
	"strings"
	"testing"

	"github.com/sentio-health/sentio/internal/testenv"
)

// isDemoWarning tells whether a line is the warning about the bundled demo ASR model: it names
// the model as the bundled demo, says what it cannot do and how to get an official one.
func isDemoWarning(line string) bool {
	return strings.Contains(line, "bundled demo model") && strings.Contains(line, "only knows its own training corpus") &&
		strings.Contains(line, "`sentio models fetch base`") && strings.Contains(line, "asr.model")
}

// TestTranscribeWarnsOnceAboutDemoModel: with the default configuration (the bundled model),
// `sentio transcribe` says once, on standard error, that it is a demo model, however many files;
// with the warning on standard error, standard output stays the transcripts alone.
func TestTranscribeWarnsOnceAboutDemoModel(t *testing.T) {
	jfk := testenv.Shared(t, "data/speech/jfk.wav")
	stdout, stderr, code := sentio(t, nil, "transcribe", "--workers", "2", jfk, jfk)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var warnings []string
	for _, line := range strings.Split(stderr, "\n") {
		if isDemoWarning(line) {
			warnings = append(warnings, line)
		}
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "sentio: warning: ") || !strings.Contains(warnings[0], "ggml-sentio-small.bin") {
		t.Errorf("want one warning naming the bundled model file on stderr, got %d:\n%s", len(warnings), stderr)
	}
	if isDemoWarning(stdout) || strings.Count(stdout, "\n") != 2 {
		t.Errorf("stdout should hold the two transcripts only:\n%s", stdout)
	}
}
