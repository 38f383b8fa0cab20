package daemon

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
)

func TestHealthReadinessAndMetrics(t *testing.T) {
	g := &gate{name: "model"}
	r := startDaemon(t, testConfig(t), g)
	r.logs.waitFor(t, "component started", 10*time.Second)

	if code, body := get(t, r.http+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	code, body := get(t, r.http+"/readyz")
	if code != 503 || !strings.Contains(body, "[+]nats ok") || !strings.Contains(body, "[-]model: loading") {
		t.Errorf("/readyz before the component is ready = %d %q", code, body)
	}
	if r.logs.has("ready") {
		t.Error(`logged "ready" before every component was ready`)
	}

	jobs := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Subsystem: "test", Name: "jobs_total", Help: "Jobs done by the test component."})
	g.env.Metrics.MustRegister(jobs)
	jobs.Add(3)
	g.ready.Store(true)
	r.logs.waitFor(t, "ready", 5*time.Second)
	code, body = get(t, r.http+"/readyz")
	if code != 200 || !strings.Contains(body, "[+]model ok") {
		t.Errorf("/readyz when ready = %d %q", code, body)
	}

	code, metrics := get(t, r.http+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`sentio_build_info{commit="abc123",goversion="go`,
		`sentio_component_ready{component="model"} 1`,
		"sentio_ready 1",
		"sentio_nats_connected 1",
		"sentio_test_jobs_total 3",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	promtoolCheck(t, metrics)

	if err := r.stop(t, 10*time.Second); err != nil {
		t.Fatalf("Run after a clean stop: %v", err)
	}
	for _, msg := range []string{"starting", "nats ready", "http listening", "component started", "ready", "draining", "component drained", "stopped"} {
		if !r.logs.has(msg) {
			t.Errorf("no %q lifecycle log line", msg)
		}
	}
}

// promtoolCheck runs `promtool check metrics` (Prometheus's own linter) on an exposition.
func promtoolCheck(t *testing.T, exposition string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: run the tests inside the toolbox (toolbox/run go test ...), which has Debian's prometheus package")
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestReadinessFollowsExternalNATSRestart(t *testing.T) {
	port := testenv.FreePort(t)
	store := t.TempDir()
	opts := func() *server.Options {
		return &server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: store, NoLog: true, NoSigs: true,
			Username: "sentio", Password: "pw-very-secret"}
	}
	s1 := testenv.RunServer(t, opts())
	cfg := testConfig(t,
		config.Override{Key: "nats.embedded", Value: "false"},
		config.Override{Key: "nats.url", Value: "nats://127.0.0.1:" + strconv.Itoa(port)},
		config.Override{Key: "nats.user", Value: "sentio"},
		config.Override{Key: "nats.password", Value: "pw-very-secret"},
	)
	r := startDaemon(t, cfg)
	r.logs.waitFor(t, "ready", 10*time.Second)

	s1.Shutdown()
	s1.WaitForShutdown()
	r.logs.waitFor(t, "nats disconnected", 10*time.Second)
	eventually(t, 10*time.Second, "/readyz 503 while NATS is down", func() bool {
		code, body := get(t, r.http+"/readyz")
		return code == 503 && strings.Contains(body, "[-]nats: reconnecting")
	})

	testenv.RunServer(t, opts())
	r.logs.waitFor(t, "nats reconnected", 15*time.Second)
	eventually(t, 10*time.Second, "/readyz 200 after NATS is back", func() bool {
		code, _ := get(t, r.http+"/readyz")
		return code == 200
	})
	if _, m := get(t, r.http+"/metrics"); !strings.Contains(m, "sentio_nats_reconnects_total 1") {
		t.Error("sentio_nats_reconnects_total is not 1 after one reconnect")
	}
	if err := r.stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.logs.dump(), "pw-very-secret") {
		t.Error("the NATS password appears in the log")
	}
}

func TestSystemdNotify(t *testing.T) {
	sock, msgs := notifySocket(t)
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "200000") // WatchdogSec=200ms: expect WATCHDOG=1 every 100ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))

	g := &gate{name: "model"}
	r := startDaemon(t, testConfig(t), g)
	next := func(within time.Duration) string {
		t.Helper()
		select {
		case m := <-msgs:
			return m
		case <-time.After(within):
			t.Fatalf("no notify message within %s", within)
			return ""
		}
	}
	if m := next(5 * time.Second); m != "STATUS=starting" {
		t.Fatalf("first message %q, want STATUS=starting", m)
	}
	// Not ready yet: only watchdog pings may arrive.
	deadline := time.After(300 * time.Millisecond)
	watchdogs := 0
wait:
	for {
		select {
		case m := <-msgs:
			if m != "WATCHDOG=1" {
				t.Fatalf("got %q before the component was ready", m)
			}
			watchdogs++
		case <-deadline:
			break wait
		}
	}
	if watchdogs < 2 {
		t.Errorf("%d WATCHDOG=1 in 300ms with WATCHDOG_USEC=200000, want >= 2", watchdogs)
	}
	g.ready.Store(true)
	var seen []string
	for !slices.Contains(seen, "READY=1\nSTATUS=ready") {
		seen = append(seen, next(5*time.Second))
	}
	r.cancel()
	for !slices.Contains(seen, "STOPPING=1\nSTATUS=draining") {
		seen = append(seen, next(5*time.Second))
	}
	if err := r.stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestGracefulDrainFinishesInflightWork(t *testing.T) {
	w := &worker{}
	r := startDaemon(t, testConfig(t, config.Override{Key: "shutdown_timeout", Value: "10s"}), w)
	nc := connectClient(t, r.logs)
	done, err := nc.SubscribeSync("done.>")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	r.logs.waitFor(t, "ready", 10*time.Second)
	if err := nc.Publish("work", []byte("800")); err != nil {
		t.Fatal(err)
	}
	r.logs.waitFor(t, "job started", 5*time.Second)
	t0 := time.Now()
	if err := r.stop(t, 10*time.Second); err != nil {
		t.Fatalf("Run returned %v after a drain that should have finished", err)
	}
	if el := time.Since(t0); el < 500*time.Millisecond {
		t.Errorf("Run returned after %s, before the 800ms job could finish", el)
	}
	if w.finished.Load() != 1 {
		t.Fatalf("finished jobs = %d, want 1", w.finished.Load())
	}
	if m, err := done.NextMsg(2 * time.Second); err != nil || m.Subject != "done.800" {
		t.Fatalf("the result of the in-flight job was not published: %v", err)
	}
	order := []string{"draining", "job finished", "component drained", "stopped"}
	assertOrder(t, r.logs, order)
}

func TestDrainTimeoutAbandonsWork(t *testing.T) {
	w := &worker{}
	r := startDaemon(t, testConfig(t, config.Override{Key: "shutdown_timeout", Value: "1s"}), w)
	nc := connectClient(t, r.logs)
	r.logs.waitFor(t, "ready", 10*time.Second)
	nc.Publish("work", []byte("5000"))
	r.logs.waitFor(t, "job started", 5*time.Second)
	t0 := time.Now()
	err := r.stop(t, 5*time.Second)
	if !errors.Is(err, ErrDrainTimeout) {
		t.Fatalf("Run = %v, want ErrDrainTimeout", err)
	}
	if el := time.Since(t0); el > 3*time.Second {
		t.Errorf("drain took %s with shutdown_timeout 1s", el)
	}
	if !r.logs.has("component drain cut short") {
		t.Error("no log line for the abandoned drain")
	}
}

// broken fails to start.
type broken struct{ gate }

func (b *broken) Start(context.Context, *Env) error { return errors.New("model file missing") }

func TestStartFailureDrainsStartedComponentsAndFails(t *testing.T) {
	first := &gate{name: "first"}
	first.ready.Store(true)
	cfg := testConfig(t)
	logs := newLogSink()
	err := Run(context.Background(), cfg, slogJSON(logs), Options{Components: []Component{first, &broken{gate{name: "second"}}}})
	if err == nil || !strings.Contains(err.Error(), "starting second: model file missing") {
		t.Fatalf("Run = %v", err)
	}
	assertOrder(t, logs, []string{"component started", "draining", "component drained", "stopped"})
}

// failing calls Env.Fail once it has started.
type failing struct{ gate }

func (f *failing) Start(_ context.Context, env *Env) error {
	f.ready.Store(true)
	go func() { time.Sleep(100 * time.Millisecond); env.Fail(errors.New("consumer deleted")) }()
	return nil
}

func TestEnvFailStopsTheDaemon(t *testing.T) {
	cfg := testConfig(t)
	logs := newLogSink()
	err := Run(context.Background(), cfg, slogJSON(logs), Options{Components: []Component{&failing{gate{name: "f"}}}})
	if err == nil || !strings.Contains(err.Error(), "consumer deleted") {
		t.Fatalf("Run = %v, want the component's error", err)
	}
	if rec := logs.waitFor(t, "draining", time.Second); rec["reason"] != "component failed" {
		t.Errorf("draining reason = %v", rec["reason"])
	}
}

func TestEmbeddedPortInUseIsAClearError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig(t, config.Override{Key: "nats.listen", Value: ln.Addr().String()})
	err = Run(context.Background(), cfg, slogJSON(newLogSink()), Options{})
	if err == nil || !strings.Contains(err.Error(), "nats.listen "+ln.Addr().String()) {
		t.Fatalf("Run = %v, want an error naming nats.listen", err)
	}
}

func connectClient(t *testing.T, logs *logSink) *nats.Conn {
	t.Helper()
	url := logs.waitFor(t, "nats ready", 10*time.Second)["listen"].(string)
	// As sentio itself: the daemon's credentials in its state directory.
	stateDir := logs.waitFor(t, "starting", time.Second)["state_dir"].(string)
	auth, err := nats.NkeyOptionFromSeed(CredentialsFile(stateDir, UserDaemon))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, auth)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func assertOrder(t *testing.T, logs *logSink, order []string) {
	t.Helper()
	logs.mu.Lock()
	defer logs.mu.Unlock()
	i := 0
	for _, r := range logs.records {
		if i < len(order) && r["msg"] == order[i] {
			i++
		}
	}
	if i < len(order) {
		t.Errorf("log lines not in the order %q (missing from %q)", order, order[i])
	}
}
