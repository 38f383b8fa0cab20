//go:build whisper

package pipeline

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sentio-health/sentio/internal/testenv"
)

// startDaemon runs `sentio run` on an external NATS server, its log in dir; extra are more
// arguments of sentio run (--set key=value).
func startDaemon(t *testing.T, url, logPath string, extra ...string) *exec.Cmd {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.Binary(t), "run", "--nats-url", url, "--http-listen", "", "--log-format", "json",
		"--set", "asr.vad_model="+testenv.Shared(t, "data/vad/silero-v6.2.0-ggml.bin"),
		"--set", "nats.ack_wait=20s", "--set", "shutdown_timeout=5s")
	cmd.Args = append(cmd.Args, extra...)
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); logf.Close() })
	return cmd
}

// daemonLog returns the path of a daemon log in a temporary directory, printed if the test fails.
func daemonLog(t *testing.T) string {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "daemon.log")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("daemon log:\n%s", b)
		}
	})
	return logPath
}

// The real daemon (`sentio run`, real models) is killed with SIGKILL while espeak-ng calls stream
// in, and restarted: every utterance has exactly one result and the DLQ stays empty.
func TestDaemonCrashRealModels(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end with the real models")
	}
	logPath := daemonLog(t)
	var first *exec.Cmd
	r := newExternalRig(t, 2*time.Minute, func(url string) { first = startDaemon(t, url, logPath) })
	url, js, cfg := r.srv.ClientURL(), r.js, r.cfg
	langs := [][2]string{{"en", "fr"}, {"de", "vi"}, {"zh", "en"}}
	var streams [][]chunkMsg
	for i, l := range langs {
		pcm := concat(speak(t, l[0], corpusSentence(t, l[0], 1)), speak(t, l[1], corpusSentence(t, l[1], 2)))
		streams = append(streams, chunks(fmt.Sprintf("crash-real-%d", i), pcm, 200))
	}
	killed := false
	for k := 0; ; k++ {
		sent := false
		for _, s := range streams {
			if k < len(s) {
				r.sendChunks(s[k : k+1])
				sent = true
			}
		}
		if !sent {
			break
		}
		if !killed && k >= len(streams[0])/2 {
			if n := len(collect(t, js, cfg.NATS.ResultStream, "sentio.results.*", 1, 5*time.Minute)); n == 0 {
				t.Fatal("no result from the daemon within 5 minutes")
			}
			if err := first.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = first.Wait()
			killed = true
			startDaemon(t, url, logPath)
		}
	}
	want := 2 * len(streams)
	collect(t, js, cfg.NATS.ResultStream, "sentio.results.*", want, 20*time.Minute) // wait for them
	// Every input acked, the redelivered ones included: nothing more is published after this.
	r.settled(5 * time.Minute)
	res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results.*", want, 5*time.Second))
	per := resultsPerCall(t, res)
	for i := range streams {
		if id := fmt.Sprintf("crash-real-%d", i); per[id] != 2 {
			t.Errorf("call %s: %d results; want 2", id, per[id])
		}
	}
	if dlq := collect(t, js, cfg.NATS.DLQStream, "sentio.dlq.>", 0, 200*time.Millisecond); len(dlq) != 0 {
		for _, m := range dlq {
			t.Errorf("unexpected DLQ entry: %v", m.Headers())
		}
	}
}
