package testenv

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Daemon is a `sentio run` started by StartDaemon, as an operator runs it: its embedded NATS
// server with the generated credentials, and its HTTP endpoint.
type Daemon struct {
	// NATSURL is the embedded server's client URL (nats://127.0.0.1:port).
	NATSURL string
	// HTTP is the base URL of /healthz, /readyz and /metrics (http://127.0.0.1:port).
	HTTP string
	// StateDir holds the embedded server's store and credentials (auth/publisher.nk,
	// auth/subscriber.nk, auth/daemon.nk).
	StateDir string
}

// Seed returns the path of the nkey seed file of the embedded server's user (daemon, publisher
// or subscriber).
func (d *Daemon) Seed(user string) string { return filepath.Join(d.StateDir, "auth", user+".nk") }

// StartDaemon runs the sentio binary (see Binary) on its embedded NATS server, with the bundled
// models, the shared Silero VAD and free loopback ports, plus the flags in extra, and waits until
// /readyz answers 200. The daemon is stopped at the end of the test, and its log is printed
// when the test failed.
func StartDaemon(t testing.TB, extra ...string) *Daemon {
	t.Helper()
	d := &Daemon{
		NATSURL:  fmt.Sprintf("nats://127.0.0.1:%d", FreePort(t)),
		HTTP:     fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)),
		StateDir: t.TempDir(),
	}
	logPath := filepath.Join(t.TempDir(), "daemon.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"run", "--log-format", "json", "--state-dir", d.StateDir,
		"--http-listen", strings.TrimPrefix(d.HTTP, "http://"),
		"--set", "nats.listen=" + strings.TrimPrefix(d.NATSURL, "nats://"),
		"--set", "asr.vad_model=" + Shared(t, "data/vad/silero-v6.2.0-ggml.bin"),
		"--set", "shutdown_timeout=5s"}, extra...)
	cmd := exec.Command(Binary(t), args...)
	cmd.Dir = RepoRoot(t) // where the bundled models are, as for `make run`
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SENTIO_") { // the daemon refuses SENTIO_* variables it does not know
			env = append(env, kv)
		}
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("daemon log:\n%s", b)
		}
	})
	Eventually(t, 2*time.Minute, "the daemon's /readyz to answer 200", func() bool {
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("sentio run exited before it was ready:\n%s", b)
		default:
		}
		resp, err := http.Get(d.HTTP + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return d
}
