package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/sentio-health/sentio/internal/testenv"
)

// NATS restarts in the middle of a stream: the daemon reconnects, and every utterance of the call
// (chunks before, during and after the outage) gets exactly one result.
func TestNATSRestartMidStreamLosesNothing(t *testing.T) {
	opts := &server.Options{Host: "127.0.0.1", Port: testenv.FreePort(t), JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}
	srv := testenv.RunServer(t, opts)
	cfg := testConfig()
	comp, _ := startComponent(t, srv.ClientURL(), cfg, testParts(t, &fakeASR{}), nil)
	nc, js := connect(t, srv.ClientURL())
	r := &rig{t: t, srv: srv, nc: nc, js: js, cfg: cfg}

	cs := chunks("restart", threeBursts, 200)
	half := len(cs) / 2
	r.sendChunks(cs[:half])
	within(t, 10*time.Second, "the first half to be delivered", func() bool { return r.totals().pending == 0 })

	srv.Shutdown()
	srv.WaitForShutdown()
	within(t, 10*time.Second, "the clients to see the outage", func() bool { return !nc.IsConnected() })
	srv2 := testenv.RunServer(t, opts) // same port, same store
	r.srv = srv2
	// Wait for the clients to reconnect before publishing the rest.
	within(t, 10*time.Second, "the clients to reconnect", nc.IsConnected)
	r.sendChunks(cs[half:])

	collect(t, js, cfg.NATS.ResultStream, "sentio.results.restart", 3, 30*time.Second) // wait for them
	r.settled(15 * time.Second)                                                        // nothing more is published after this
	res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results.restart", 3, time.Second))
	if len(res) != 3 {
		t.Fatalf("%d results across the NATS restart; want exactly 3 (%v)", len(res), starts(res))
	}
	ids := map[string]bool{}
	for _, x := range res {
		if ids[x.UtteranceID] {
			t.Fatalf("duplicate result %s", x.UtteranceID)
		}
		ids[x.UtteranceID] = true
	}
	if s := summaryOf(t, r, "restart"); s.Utterances != 3 {
		t.Fatalf("summary counts %d utterances", s.Utterances)
	}
	// The component drains cleanly on the restarted server (the cleanups would stop that server
	// before the component's, as it was started after it).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := comp.Drain(ctx); err != nil {
		t.Fatalf("drain after the restart: %v", err)
	}
}
