package cli_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentio-health/sentio/internal/testenv"
)

// TestTranscribeJSON runs `sentio transcribe --json` on real speech and espeak-ng speech in
// several formats and checks every documented field.
func TestTranscribeJSON(t *testing.T) {
	dir := t.TempDir()
	speech := filepath.Join(dir, "en.wav")
	testenv.Espeak(t, speech, "The nurse will call you back tomorrow.", "-v", "en")
	ulaw := filepath.Join(dir, "en.ulaw.wav")
	if out, err := exec.Command("sox", speech, "-e", "mu-law", "-r", "8000", ulaw).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v %s", err, out)
	}
	notAudio := filepath.Join(dir, "notes.txt")
	os.WriteFile(notAudio, []byte("not audio at all"), 0o644)
	jfk := testenv.Shared(t, "data/speech/jfk.wav")
	vad := testenv.Shared(t, "data/vad/silero-v6.2.0-ggml.bin")

	stdout, stderr, code := sentio(t, nil, "transcribe", "--json", "--vad-model", vad, "--workers", "2", jfk, speech, ulaw, notAudio)
	if code != 1 {
		t.Fatalf("exit %d (want 1: one file is not audio)\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "notes.txt: unsupported format: looks like text") {
		t.Errorf("stderr does not name the bad file and the problem:\n%s", stderr)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		lines = append(lines, m)
	}
	if len(lines) != 4 {
		t.Fatalf("%d JSON lines, want 4:\n%s", len(lines), stdout)
	}
	for i, want := range []string{jfk, speech, ulaw} {
		l := lines[i]
		if l["file"] != want {
			t.Errorf("line %d is for %v, want %s (input order)", i, l["file"], want)
		}
		for _, k := range []string{"language", "language_probability", "text", "segments", "duration_ms", "elapsed_ms"} {
			if _, ok := l[k]; !ok {
				t.Errorf("%s: no %q in %v", want, k, l)
			}
		}
		if p, _ := l["language_probability"].(float64); p <= 0 || p > 1 {
			t.Errorf("%s: language_probability %v", want, l["language_probability"])
		}
		if lang, _ := l["language"].(string); !strings.Contains("vi en zh de fr", lang) || lang == "" {
			t.Errorf("%s: language %q outside the configured five", want, lang)
		}
	}
	if d := lines[0]["duration_ms"].(float64); d != 11000 {
		t.Errorf("jfk.wav duration_ms %v, want 11000", d)
	}
	if s := lines[0]["speech_ms"].(float64); s <= 0 || s >= 11000 {
		t.Errorf("jfk.wav speech_ms %v: VAD should keep part of it", s)
	}
	if lines[3]["error"] == nil {
		t.Errorf("no error for the text file: %v", lines[3])
	}

	// Plain output: file, language, probability, text; --lang forces the language.
	stdout, stderr, code = sentio(t, nil, "transcribe", "--lang", "de", "--no-vad", speech)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f := strings.SplitN(strings.TrimSpace(stdout), "\t", 4)
	if len(f) < 3 || f[0] != speech || f[1] != "de" || f[2] != "1.00" {
		t.Errorf("plain output %q", stdout)
	}
	// Raw input needs its declared format; a missing rate is named.
	_, stderr, code = sentio(t, nil, "transcribe", "--format", "s16le", speech)
	if code == 0 || !strings.Contains(stderr, "raw pcm: the input starts with a RIFF/WAVE header") {
		t.Errorf("raw wav: exit %d, %s", code, stderr)
	}
}

// TestModelsFetch downloads from a local server standing in for Hugging Face.
func TestModelsFetch(t *testing.T) {
	vad, err := os.ReadFile(testenv.Shared(t, "data/vad/silero-v6.2.0-ggml.bin"))
	if err != nil {
		t.Fatal(err)
	}
	custom := []byte("a small file standing in for a quantized model")
	var paths []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		switch r.URL.Path {
		case "/ggml-silero-v6.2.0.bin":
			w.Write(vad)
		case "/ggml-tiny-q5_1.bin":
			w.Write(custom)
		case "/ggml-tiny.bin":
			w.Write([]byte("corrupt"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer ts.Close()
	dir := t.TempDir()
	env := []string{"SENTIO_MODELS_BASE_URL=" + ts.URL}
	stdout, stderr, code := sentio(t, env, "models", "fetch", "silero-vad", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "SHA-256 verified") || !strings.Contains(stdout, "asr.vad_model") {
		t.Errorf("stdout %q", stdout)
	}
	got, err := os.ReadFile(filepath.Join(dir, "silero-v6.2.0-ggml.bin"))
	if err != nil || len(got) != len(vad) {
		t.Fatalf("installed VAD model: %d bytes, %v", len(got), err)
	}
	// A model outside the catalog needs its checksum.
	_, stderr, code = sentio(t, env, "models", "fetch", "tiny-q5_1", "--dir", dir)
	if code != 2 || !strings.Contains(stderr, "--sha256") {
		t.Errorf("custom without checksum: exit %d, %s", code, stderr)
	}
	sum := sha256.Sum256(custom)
	_, stderr, code = sentio(t, env, "models", "fetch", "tiny-q5_1", "--dir", dir, "--sha256", hex.EncodeToString(sum[:]))
	if code != 0 {
		t.Errorf("custom with checksum: exit %d, %s", code, stderr)
	}
	// A corrupt download is refused and removed.
	_, stderr, code = sentio(t, env, "models", "fetch", "tiny", "--dir", dir)
	if code == 0 || !strings.Contains(stderr, "more than the expected") && !strings.Contains(stderr, "transfer ended") {
		t.Errorf("corrupt tiny: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "ggml-tiny.bin")); !os.IsNotExist(err) {
		t.Error("a corrupt model was installed")
	}
}
