// Package testenv gives tests the project's fixed points: the repository root, the shared data
// beside it, the built binary, and a real embedded NATS server with JetStream; and the helpers
// the packages' tests share (a JetStream connection, reading a stream, decoding a WAV file,
// polling for a condition, a log buffer).
package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Shared returns the path of rel inside the shared data directory (SENTIO_SHARED, or ../shared
// beside the repository), failing the test when it is missing: CI always has it.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	base := os.Getenv("SENTIO_SHARED")
	if base == "" {
		base = filepath.Join(filepath.Dir(RepoRoot(t)), "shared")
	}
	p := filepath.Join(base, rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testenv: shared data %s is missing (set SENTIO_SHARED to the shared/ directory): %v", rel, err)
	}
	return p
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// Binary returns the path of a sentio binary: SENTIO_BIN when set (make test sets it to
// bin/sentio), otherwise one built once per test process with the whisper tag.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SENTIO_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sentio-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "sentio")
		cmd := exec.Command("go", "build", "-tags", "whisper", "-o", builtBin, "./cmd/sentio")
		cmd.Dir = RepoRoot(t)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string {
	return "testenv: building sentio: " + e.err.Error() + "\n" + e.out
}

// RunJetStream starts a real embedded NATS server with JetStream on a random loopback port and
// returns it; it shuts down when the test ends.
func RunJetStream(t testing.TB) *server.Server {
	t.Helper()
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoLog:     true,
		NoSigs:    true,
	}
	return RunServer(t, opts)
}

// RunServer starts an embedded NATS server with the given options; it shuts down when the test ends.
func RunServer(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("testenv: nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("testenv: nats server not ready within 10s")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// Espeak synthesises text with espeak-ng into the WAV file out; args are espeak-ng's options
// before the text ("-v", "en"). A missing espeak-ng fails the test with a clear message instead of
// skipping it: the tests that need real speech run in CI, and the toolbox has espeak-ng.
func Espeak(t testing.TB, out, text string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Fatalf("testenv: espeak-ng is not installed, and this test needs real speech (run it in the toolbox: toolbox/run go test ...): %v", err)
	}
	argv := append(append(append([]string(nil), args...), "-w", out), text)
	if b, err := exec.Command("espeak-ng", argv...).CombinedOutput(); err != nil {
		t.Fatalf("testenv: espeak-ng %s: %v\n%s", strings.Join(args, " "), err, b)
	}
}

// CorpusSentence returns sentence n (0-based; blank and # comment lines skipped) of the ASR
// corpus file rel under models/asr/corpus, e.g. "en.txt" or "heldout/vi.txt".
func CorpusSentence(t testing.TB, rel string, n int) string {
	t.Helper()
	f, err := os.Open(filepath.Join(RepoRoot(t), "models/asr/corpus", rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for i := 0; sc.Scan(); {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i == n {
			return line
		}
		i++
	}
	t.Fatalf("corpus %s has fewer than %d sentences", rel, n+1)
	return ""
}
