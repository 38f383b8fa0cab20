package daemon

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sentio-health/sentio/config"
)

// TestMain lets the test binary act as a daemon process (with the worker component) when
// SENTIO_DAEMON_TEST_CHILD is set, so that real signals can be sent to a real process.
func TestMain(m *testing.M) {
	if os.Getenv("SENTIO_DAEMON_TEST_CHILD") == "1" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

func childMain() int {
	cfg, err := config.Load("")
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 2
	}
	log := NewLogger(cfg.Log, os.Stderr)
	ctx, cancel := context.WithCancel(context.Background())
	HandleSignals(cancel, log)
	if err := Run(ctx, cfg, log, Options{Version: "child", Components: []Component{&worker{}}}); err != nil {
		return 1
	}
	return 0
}

// child is a daemon subprocess whose JSON log feeds a sink.
type child struct {
	cmd  *exec.Cmd
	logs *logSink
	exit chan error
}

func startChild(t *testing.T, shutdownTimeout string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"SENTIO_DAEMON_TEST_CHILD=1",
		"SENTIO_NATS_LISTEN=127.0.0.1:0",
		"SENTIO_HTTP_LISTEN=127.0.0.1:0",
		"SENTIO_STATE_DIR="+t.TempDir(),
		"SENTIO_LOG_FORMAT=json",
		"SENTIO_SHUTDOWN_TIMEOUT="+shutdownTimeout,
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, logs: newLogSink(), exit: make(chan error, 1)}
	go func() {
		c.logs.readFrom(stderr)
		c.exit <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.exit
	})
	c.logs.waitFor(t, "ready", 20*time.Second)
	return c
}

func (c *child) signal(t *testing.T, s os.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(s); err != nil {
		t.Fatal(err)
	}
}

// wait returns the exit status, failing the test if the process does not exit in time.
func (c *child) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case err := <-c.exit:
		c.exit <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("process did not exit within %s; log:\n%s", within, c.logs.dump())
		return -1
	}
}

func TestProcessSIGTERMFinishesInflightWorkAndExitsZero(t *testing.T) {
	c := startChild(t, "20s")
	nc := connectClient(t, c.logs)
	done, err := nc.SubscribeSync("done.>")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	nc.Publish("work", []byte("1500"))
	c.logs.waitFor(t, "job started", 5*time.Second)
	c.signal(t, syscall.SIGTERM)
	if code := c.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit status %d after a graceful drain, want 0; log:\n%s", code, c.logs.dump())
	}
	if m, err := done.NextMsg(time.Second); err != nil || m.Subject != "done.1500" {
		t.Fatalf("the in-flight job's result was not published before exit: %v", err)
	}
	assertOrder(t, c.logs, []string{"ready", "job started", "signal received, draining (send it again to exit at once)", "draining", "job finished", "component drained", "stopped"})
}

func TestProcessSecondSignalForcesExit(t *testing.T) {
	c := startChild(t, "60s")
	nc := connectClient(t, c.logs)
	nc.Publish("work", []byte("60000"))
	c.logs.waitFor(t, "job started", 5*time.Second)
	c.signal(t, syscall.SIGTERM)
	c.logs.waitFor(t, "draining", 5*time.Second)
	t0 := time.Now()
	c.signal(t, syscall.SIGINT)
	code := c.wait(t, 5*time.Second)
	if code != 128+int(syscall.SIGINT) {
		t.Errorf("exit status %d after a second signal, want %d", code, 128+int(syscall.SIGINT))
	}
	if el := time.Since(t0); el > 2*time.Second {
		t.Errorf("forced exit took %s", el)
	}
	if c.logs.has("job finished") || c.logs.has("stopped") {
		t.Error("the forced exit waited for the drain")
	}
	if !strings.Contains(c.logs.dump(), "second signal") {
		t.Error("no log line for the forced exit")
	}
}
