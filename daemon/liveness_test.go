package daemon

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// notifySocket listens where systemd's notify protocol writes (NOTIFY_SOCKET) and returns the
// messages received, in order, until the test ends.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	msgs := make(chan string, 1000)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	return sock, msgs
}

// stuckComponent is ready, and not alive while stuck is set (a hung model call).
type stuckComponent struct {
	gate
	stuck atomic.Bool
}

func (s *stuckComponent) Alive() error {
	if s.stuck.Load() {
		return errors.New("asr worker 0 hung: a model call has been running for 5m1s, past its deadline of 5m0s")
	}
	return nil
}

// While a component is not alive the systemd watchdog is not fed (systemd then restarts the
// daemon); the pings resume when it recovers.
func TestWatchdogStarvedWhileAComponentIsStuck(t *testing.T) {
	sock, msgs := notifySocket(t)
	// mark sends a datagram of our own: every message read before it was sent before it.
	mark := func() {
		t.Helper()
		c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("MARK")); err != nil {
			t.Fatal(err)
		}
		for m := range msgs {
			if m == "MARK" {
				return
			}
		}
	}
	waitWatchdog := func(within time.Duration) {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case m := <-msgs:
				if m == "WATCHDOG=1" {
					return
				}
			case <-deadline:
				t.Fatalf("no WATCHDOG=1 within %s", within)
			}
		}
	}
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "100000") // a ping every 50ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))

	c := &stuckComponent{gate: gate{name: "pipeline"}}
	c.ready.Store(true)
	r := startDaemon(t, testConfig(t), c)
	r.logs.waitFor(t, "ready", 10*time.Second)
	waitWatchdog(5 * time.Second)

	c.stuck.Store(true)
	line := r.logs.waitFor(t, "not feeding the systemd watchdog: systemd restarts sentio unless this clears within the watchdog interval", 5*time.Second)
	if line["level"] != "WARN" || line["err"] == nil {
		t.Fatalf("log line %v", line)
	}
	mark()
	// Eight ping intervals without a ping (systemd would have restarted the daemon after two).
	quiet := time.After(400 * time.Millisecond)
	for done := false; !done; {
		select {
		case m := <-msgs:
			if m == "WATCHDOG=1" {
				t.Fatal("WATCHDOG=1 sent while a component is stuck")
			}
		case <-quiet:
			done = true
		}
	}

	c.stuck.Store(false)
	waitWatchdog(5 * time.Second)
	r.logs.waitFor(t, "feeding the systemd watchdog again", 5*time.Second)
	if err := r.stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}
