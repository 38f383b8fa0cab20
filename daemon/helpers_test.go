package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
)

// logSink collects JSON log records and lets a test wait for one.
type logSink struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	records []map[string]any
	changed chan struct{}
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	for {
		line, err := s.buf.ReadBytes('\n')
		if err != nil {
			s.buf.Write(line) // keep the partial line
			break
		}
		var rec map[string]any
		if json.Unmarshal(line, &rec) == nil {
			s.records = append(s.records, rec)
		}
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

// readFrom feeds the sink from r (a subprocess's stderr) until EOF.
func (s *logSink) readFrom(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		s.Write(append(sc.Bytes(), '\n'))
	}
}

// waitFor returns the first record whose msg is msg, waiting up to timeout.
func (s *logSink) waitFor(t *testing.T, msg string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		for _, r := range s.records {
			if r["msg"] == msg {
				s.mu.Unlock()
				return r
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no %q log line within %s; log so far:\n%s", msg, timeout, s.dump())
		}
	}
}

func (s *logSink) has(msg string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.records {
		if r["msg"] == msg {
			return true
		}
	}
	return false
}

func (s *logSink) dump() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, r := range s.records {
		j, _ := json.Marshal(r)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// testConfig is the default configuration on free loopback ports with state in a temp dir.
func testConfig(t *testing.T, more ...config.Override) *config.Config {
	t.Helper()
	ov := append([]config.Override{
		{Key: "nats.listen", Value: "127.0.0.1:0", Flag: "test"},
		{Key: "http.listen", Value: "127.0.0.1:0", Flag: "test"},
		{Key: "state_dir", Value: t.TempDir(), Flag: "test"},
	}, more...)
	c, err := config.Load("", ov...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// running is a daemon started in-process by startDaemon.
type running struct {
	logs   *logSink
	cancel context.CancelFunc
	done   chan error
	http   string
}

// startDaemon runs Run in a goroutine and waits for its HTTP address.
func startDaemon(t *testing.T, cfg *config.Config, comps ...Component) *running {
	t.Helper()
	r := &running{logs: newLogSink(), done: make(chan error, 1)}
	log := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- Run(ctx, cfg, log, Options{Version: "test", Commit: "abc123", Components: comps}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(cfg.ShutdownTimeout + 5*time.Second):
			t.Error("daemon did not stop")
		}
	})
	r.http = "http://" + r.logs.waitFor(t, "http listening", 20*time.Second)["addr"].(string)
	return r
}

// stop cancels the daemon and returns Run's result.
func (r *running) stop(t *testing.T, within time.Duration) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(within):
		t.Fatalf("Run did not return within %s; log:\n%s", within, r.logs.dump())
		return nil
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// eventually(t, timeout, what, cond) polls cond until it holds or timeout passes.
var eventually = testenv.Eventually

func slogJSON(s *logSink) *slog.Logger {
	return slog.New(slog.NewJSONHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
