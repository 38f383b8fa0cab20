package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/internal/testenv"
)

// sentio runs the binary with args and extra environment, returning stdout, stderr and the exit
// status.
func sentio(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	return sentioWith(t, env, "", args...)
}

// sentioIn runs the binary with args and stdin, returning stdout, stderr and the exit status.
func sentioIn(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return sentioWith(t, nil, stdin, args...)
}

// sentioWith runs the binary in the repository root (where the bundled models are, as for
// `make run`) with args, extra environment and stdin.
func sentioWith(t *testing.T, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(testenv.Binary(t), args...)
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// cleanEnv is the test's environment without SENTIO_* settings, so that a developer's shell
// cannot change the results.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SENTIO_") || strings.HasPrefix(kv, "SENTIO_SHARED=") {
			env = append(env, kv)
		}
	}
	return env
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sentio.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunStartsReadyAndStopsOnSIGINT(t *testing.T) {
	state := t.TempDir()
	cmd := exec.Command(testenv.Binary(t), "run", "--http-listen", "127.0.0.1:0")
	cmd.Dir = testenv.RepoRoot(t) // where the bundled models are, as for `make run`
	cmd.Env = append(cleanEnv(), "SENTIO_NATS_LISTEN=127.0.0.1:0", "SENTIO_STATE_DIR="+state)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exit := make(chan error, 1)
	records := make(chan map[string]any, 100)
	var raw bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			raw.Write(sc.Bytes())
			raw.WriteByte('\n')
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				rec = map[string]any{"msg": "NOT JSON: " + sc.Text()}
			}
			records <- rec
		}
		close(records)
		exit <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	got := map[string]map[string]any{}
	var demo []map[string]any // the records warning that the ASR model is the bundled demo
	keep := func(rec map[string]any) {
		if m, _ := rec["msg"].(string); isDemoWarning(m) {
			demo = append(demo, rec)
		}
	}
	waitFor := func(msg string) map[string]any {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for got[msg] == nil {
			select {
			case rec, ok := <-records:
				if !ok {
					t.Fatalf("sentio exited before logging %q:\n%s", msg, raw.String())
				}
				if m, _ := rec["msg"].(string); strings.HasPrefix(m, "NOT JSON") {
					t.Errorf("log line is not JSON although stderr is not a terminal: %s", m)
				}
				got[rec["msg"].(string)] = rec
				keep(rec)
			case <-timeout:
				t.Fatalf("no %q log line:\n%s", msg, raw.String())
			}
		}
		return got[msg]
	}
	httpAddr := waitFor("http listening")["addr"].(string)
	natsURL := waitFor("nats ready")["listen"].(string)
	waitFor("ready")
	// Start-up warns once, before "ready", that the bundled ASR model is a demo.
	if len(demo) != 1 {
		t.Errorf("%d warnings that the bundled ASR model is a demo before \"ready\", want 1: %v", len(demo), demo)
	} else if model, _ := demo[0]["model"].(string); demo[0]["level"] != "WARN" || !strings.HasSuffix(model, "ggml-sentio-small.bin") {
		t.Errorf("the demo model warning is not a WARN naming the bundled model file: %v", demo[0])
	}

	resp, err := http.Get("http://" + httpAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/readyz = %d", resp.StatusCode)
	}
	// Other tools can use the embedded JetStream, with the credentials sentio generated: create
	// a stream and publish to it as the daemon's user. Without credentials they are refused.
	if nc, err := nats.Connect(natsURL); err == nil {
		nc.Close()
		t.Error("an anonymous client connected to the embedded server")
	}
	auth, err := nats.NkeyOptionFromSeed(filepath.Join(state, "auth", "daemon.nk"))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(natsURL, auth)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "PROBE", Subjects: []string{"probe.>"}}); err != nil {
		t.Fatalf("creating a stream on the embedded server: %v", err)
	}
	if _, err := js.Publish(ctx, "probe.1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	if _, err := os.Stat(filepath.Join(state, "nats", "jetstream")); err != nil {
		t.Errorf("the JetStream store is not under state_dir: %v", err)
	}

	cmd.Process.Signal(syscall.SIGINT)
	waitFor("stopped")
	select {
	case err := <-exit:
		if err != nil {
			t.Fatalf("sentio run exited with %v after SIGINT, want status 0:\n%s", err, raw.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("sentio run did not exit after SIGINT")
	}
	for rec := range records { // closed before exit was sent
		keep(rec)
	}
	if len(demo) != 1 {
		t.Errorf("%d warnings that the bundled ASR model is a demo over the daemon's run, want 1:\n%s", len(demo), raw.String())
	}
}

func TestConfigCheck(t *testing.T) {
	good := writeConfig(t, "log:\n  level: debug\nnats:\n  embedded: false\n  url: nats://nats.example:4222\n")
	out, errOut, code := sentio(t, nil, "config", "check", good)
	if code != 0 || !strings.Contains(out, good+": valid") {
		t.Errorf("valid file: status %d, stdout %q, stderr %q", code, out, errOut)
	}

	bad := writeConfig(t, "log:\n  level: debug\nnats:\n  urll: nats://x:4222\nasr:\n  threads: many\n")
	_, errOut, code = sentio(t, nil, "config", "check", bad)
	if code == 0 {
		t.Fatal("invalid file: status 0")
	}
	for _, want := range []string{bad + ":4: unknown key \"nats.urll\" (allowed: embedded, listen, url", bad + ":6: asr.threads: \"many\" is not an integer"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}

	badValue := writeConfig(t, "reasoning:\n  provider: tpu\n")
	_, errOut, code = sentio(t, nil, "config", "check", badValue)
	if code == 0 || !strings.Contains(errOut, badValue+":2: reasoning.provider: \"tpu\" is not allowed (allowed: cpu, cuda, auto)") {
		t.Errorf("bad value: status %d, stderr:\n%s", code, errOut)
	}

	missing := filepath.Join(t.TempDir(), "absent.yaml")
	_, errOut, code = sentio(t, nil, "config", "check", missing)
	if code == 0 || !strings.Contains(errOut, "config file not found: "+missing) {
		t.Errorf("missing file: status %d, stderr:\n%s", code, errOut)
	}
}

func TestConfigPrintPrecedenceAndRedaction(t *testing.T) {
	file := writeConfig(t, "log:\n  level: warn\n  format: text\nnats:\n  embedded: false\n  url: nats://file:4222\n")
	env := []string{"SENTIO_NATS_TOKEN=tok-very-secret", "SENTIO_NATS_URL=nats://env:4222", "SENTIO_STATE_DIR=/tmp/x"}
	out, errOut, code := sentio(t, env, "config", "print", "--config", file, "--log-level", "debug")
	if code != 0 {
		t.Fatalf("status %d: %s", code, errOut)
	}
	for _, want := range []string{
		"level: debug # from flag --log-level",
		"format: text # from " + file + ":3",
		"url: nats://env:4222 # from environment SENTIO_NATS_URL",
		"token: REDACTED # from environment SENTIO_NATS_TOKEN",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config print lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "tok-very-secret") {
		t.Fatal("config print shows the secret token")
	}
	// The printed configuration is itself a valid config file.
	_, errOut, code = sentio(t, nil, "config", "check", writeConfig(t, out))
	if code != 0 {
		t.Errorf("printed config does not check: %s", errOut)
	}
}

func TestVersion(t *testing.T) {
	out, errOut, code := sentio(t, nil, "version")
	if code != 0 {
		t.Fatalf("status %d: %s", code, errOut)
	}
	for _, want := range []string{"sentio ", "go ", "whisper.cpp ", "onnxruntime ", "lingua-go ", "nats-server "} {
		if !strings.Contains(out, "\n"+want) && !strings.HasPrefix(out, want) {
			t.Errorf("version output lacks a %q line:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, "Schema error") {
		t.Error("ONNX Runtime's load-time noise leaked into the output")
	}
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/libonnxruntime.so.1.23"); err == nil && !strings.Contains(out, "onnxruntime  1.23") {
		t.Errorf("ONNX Runtime 1.23 is installed but not reported:\n%s", out)
	}
	if strings.Contains(out, "whisper.cpp  not built in") {
		t.Errorf("the test binary is built with -tags whisper but reports no whisper.cpp:\n%s", out)
	}
}

func TestHelpEverywhere(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"config", "--help"}, {"config", "print", "--help"},
		{"config", "check", "--help"}, {"config", "docs", "--help"}, {"version", "--help"}} {
		out, errOut, code := sentio(t, nil, args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("sentio %s: status %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errOut)
		}
	}
}
