package pipeline

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestHelperDaemon is not a test: it is the daemon process the crash test starts (and kills with
// SIGKILL): the real pipeline component with test-double models on the NATS server it is given.
func TestHelperDaemon(t *testing.T) {
	url := os.Getenv("SENTIO_HELPER_DAEMON")
	if url == "" {
		t.Skip("helper process for TestCrashMidStreamExactlyOnce")
	}
	startComponent(t, url, testConfig(), testParts(t, &slowASR{}), nil)
	fmt.Println("helper daemon ready")
	select {} // until killed
}

func startHelper(t *testing.T, url string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperDaemon$", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), "SENTIO_HELPER_DAEMON="+url)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// The daemon is killed with SIGKILL mid-stream under load and restarted: every utterance of every
// call has exactly one result, and the DLQ stays empty.
func TestCrashMidStreamExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	var first *exec.Cmd
	r := newExternalRig(t, 30*time.Second, func(url string) { first = startHelper(t, url) })
	url, js, cfg := r.srv.ClientURL(), r.js, r.cfg
	const calls = 10
	streams := make([][]chunkMsg, calls)
	for i := range streams {
		streams[i] = chunks(fmt.Sprintf("crash-%d", i), threeBursts, 200)
		r.clip(fmt.Sprintf("crash-clip-%d", i), wav(tone(6, [2]float64{0.5, 1.5}, [2]float64{2.5, 3.2}, [2]float64{4.5, 5.5}), 16000), nil)
	}
	for k := 0; k < len(streams[0]); k++ {
		for i := range streams {
			r.sendChunks(streams[i][k : k+1])
		}
		if k == len(streams[0])/2 {
			// Kill once results are flowing, i.e. with work in flight.
			before := len(collect(t, js, cfg.NATS.ResultStream, "sentio.results.*", 1, 30*time.Second))
			if before == 0 {
				t.Fatal("no result from the helper daemon within 30s")
			}
			t.Logf("SIGKILL with %d results published and %d chunks per call still to send", before, len(streams[0])-k-1)
			if err := first.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = first.Wait()
			startHelper(t, url)
		}
	}
	want := 2 * calls * 3
	collect(t, js, cfg.NATS.ResultStream, "sentio.results.*", want, 120*time.Second) // wait for them
	// Every input acked, the redelivered ones included: nothing more is published after this.
	r.settled(60 * time.Second)
	res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results.*", want, 5*time.Second))
	per := resultsPerCall(t, res)
	for id, n := range per {
		if n != 3 {
			t.Errorf("call %s has %d results; want 3", id, n)
		}
	}
	if len(res) != want || len(per) != 2*calls {
		t.Errorf("%d results over %d calls; want %d over %d", len(res), len(per), want, 2*calls)
	}
	if dlq := collect(t, js, cfg.NATS.DLQStream, "sentio.dlq.>", 0, 200*time.Millisecond); len(dlq) != 0 {
		for _, m := range dlq {
			t.Errorf("unexpected DLQ entry: %v", m.Headers())
		}
	}
}
