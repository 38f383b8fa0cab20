package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/wire"
)

// resultsComponent sets up sentio's streams, as the pipeline does, and publishes one result.
type resultsComponent struct{ result wire.Result }

func (c *resultsComponent) Name() string { return "results" }

func (c *resultsComponent) Start(ctx context.Context, env *Env) error {
	if _, err := bus.Setup(ctx, env.JetStream, env.Config.NATS); err != nil {
		return err
	}
	data, err := json.Marshal(c.result)
	if err != nil {
		return err
	}
	_, err = env.JetStream.Publish(ctx, wire.Subject(env.Config.NATS.ResultSubject, c.result.CallID), data)
	return err
}

func (c *resultsComponent) Ready() error                  { return nil }
func (c *resultsComponent) Drain(_ context.Context) error { return nil }

// With http.console on a loopback listener, the daemon serves the console without a token, fed
// from the results stream of its embedded server (with its credentials); a browser's open event
// stream ends when the daemon stops (the HTTP server's shutdown alone leaves it open).
func TestConsoleOnLoopback(t *testing.T) {
	cfg := testConfig(t, config.Override{Key: "http.console", Value: "true", Flag: "test"})
	comp := &resultsComponent{result: wire.Result{SchemaVersion: wire.SchemaVersion, CallID: "call-d", UtteranceID: "u1",
		Mode: wire.ModeClip, Role: "agent", EndMS: 1000, Transcript: "hello", Language: "en", LanguageSupported: true,
		Label: wire.LabelNeutral, Scores: map[string]float64{wire.LabelNeutral: 0.9}}}
	r := startDaemon(t, cfg, comp)
	if line := r.logs.waitFor(t, "console serving", 5*time.Second); line["token_required"] != false || !strings.HasSuffix(line["url"].(string), "/console/") {
		t.Errorf("console line %v", line)
	}
	eventually(t, 30*time.Second, "the result in the console", func() bool {
		code, body := get(t, r.http+"/console/api/snapshot")
		return code == 200 && strings.Contains(body, `"call_id":"call-d"`) && strings.Contains(body, `"ready":true`)
	})
	if code, body := get(t, r.http+"/console/"); code != 200 || !strings.Contains(body, "app.js") {
		t.Errorf("page: %d %q", code, body)
	}

	res, err := http.Get(r.http + "/console/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	ended := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
		}
		ended <- sc.Err()
	}()
	if err := r.stop(t, 10*time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream is still open after the daemon stopped")
	}
}
