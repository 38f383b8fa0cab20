package testenv

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TinyLLM returns the path of the tiny random-weight Llama model that models/llm/tiny_gguf.py
// writes (bin/tiny-llm.gguf, made when missing or older than the script; well under a second).
func TinyLLM(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	script := filepath.Join(root, "models", "llm", "tiny_gguf.py")
	out := filepath.Join(root, "bin", "tiny-llm.gguf")
	si, err := os.Stat(script)
	if err != nil {
		t.Fatal(err)
	}
	if oi, err := os.Stat(out); err == nil && oi.ModTime().After(si.ModTime()) {
		return out
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	// Written beside and renamed: test binaries of several packages may make it at once.
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	if b, err := exec.Command("python3", script, tmp).CombinedOutput(); err != nil {
		t.Fatalf("testenv: making the tiny LLM: %v\n%s", err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// LLMServer is a llama-server serving the tiny model.
type LLMServer struct {
	// URL is the OpenAI API base, http://127.0.0.1:<port>/v1.
	URL string
	// Addr is host:port.
	Addr string
	// Stop kills the server and waits for it to exit (the test's end does too).
	Stop func()
}

// StartLLMServer starts llama-server (Debian's llama.cpp) with the tiny model on a free port,
// with slots parallel slots and extra arguments (e.g. --api-key), waits until /health answers
// 200 and stops it when the test ends. The Jinja chat template engine is off: the tiny model's
// ChatML template is applied by llama.cpp's built-in formatter.
func StartLLMServer(t testing.TB, slots int, extra ...string) *LLMServer {
	t.Helper()
	bin, err := exec.LookPath("llama-server")
	if err != nil {
		t.Fatalf("testenv: llama-server is not installed (Debian package llama.cpp-tools; run the tests in the toolbox): %v", err)
	}
	port := FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{"-m", TinyLLM(t), "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--no-jinja",
		"-c", strconv.Itoa(4096 * slots), "-np", strconv.Itoa(slots), "-t", "1", "--no-webui", "--log-disable"}, extra...)
	cmd := exec.Command(bin, args...)
	logf, err := os.CreateTemp(t.TempDir(), "llama-server-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited
			logf.Close()
		})
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("testenv: llama-server exited: %s", b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("testenv: llama-server did not become healthy within 60 s")
		}
	}
	return &LLMServer{URL: "http://" + addr + "/v1", Addr: addr, Stop: stop}
}
