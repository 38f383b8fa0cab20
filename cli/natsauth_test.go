package cli_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/daemon"
	"github.com/sentio-health/sentio/internal/testenv"
)

// setupOnly is a daemon component that creates sentio's streams, as the pipeline does.
type setupOnly struct{ done chan struct{} }

func (s *setupOnly) Name() string { return "setup" }
func (s *setupOnly) Start(ctx context.Context, env *daemon.Env) error {
	if _, err := bus.Setup(ctx, env.JetStream, env.Config.NATS); err != nil {
		return err
	}
	close(s.done)
	return nil
}
func (s *setupOnly) Ready() error                { return nil }
func (s *setupOnly) Drain(context.Context) error { return nil }

// securedDaemon runs the daemon in-process with its default embedded NATS server (credentials
// on) on a free port. It returns the environment with which `sentio publish` and `sentio tail`
// see the daemon's configuration, the state directory, the server's URL and a JetStream
// connection with the daemon's credentials.
func securedDaemon(t *testing.T) (env []string, state, url string, js jetstream.JetStream) {
	t.Helper()
	listen := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	state = t.TempDir()
	cfg, err := config.Load("", config.Override{Key: "nats.listen", Value: listen}, config.Override{Key: "http.listen", Value: ""},
		config.Override{Key: "state_dir", Value: state})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	setup := &setupOnly{done: make(chan struct{})}
	go func() {
		done <- daemon.Run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), daemon.Options{Components: []daemon.Component{setup}})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-setup.done:
	case err := <-done:
		t.Fatalf("daemon: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the daemon did not set up its streams")
	}
	url = "nats://" + listen
	auth, err := daemon.ClientAuth(cfg, daemon.UserDaemon)
	if err != nil {
		t.Fatal(err)
	}
	_, js = testenv.Connect(t, url, auth...)
	return []string{"SENTIO_STATE_DIR=" + state, "SENTIO_NATS_LISTEN=" + listen}, state, url, js
}

func TestPublishAndTailFindTheEmbeddedServersCredentials(t *testing.T) {
	env, state, url, js := securedDaemon(t)
	file := writeWAV(t, 0.5)

	// publish finds state_dir/auth/publisher.nk through the daemon's configuration.
	if out, errs, code := sentio(t, env, "publish", "--call-id", "c1", file); code != 0 {
		t.Fatalf("publish with the daemon's configuration: exit %d\n%s%s", code, out, errs)
	}
	if n := len(streamMsgs(t, js, "SENTIO_AUDIO", "sentio.audio.*.c1")); n != 1 {
		t.Fatalf("%d audio messages for c1, want 1", n)
	}
	// tail finds subscriber.nk and reads the call's results.
	if _, err := js.Publish(context.Background(), "sentio.results.c1", []byte(`{"call_id":"c1","utterance_id":"u1"}`)); err != nil {
		t.Fatal(err)
	}
	out, errs, code := sentio(t, env, "tail", "--call-id", "c1", "--count", "1", "--timeout", "20s", "--json")
	if code != 0 || !strings.Contains(out, `"utterance_id":"u1"`) {
		t.Fatalf("tail with the daemon's configuration: exit %d\n%s%s", code, out, errs)
	}

	// Another state directory has no credentials: the error says where they are looked for.
	other := []string{"SENTIO_STATE_DIR=" + t.TempDir(), env[1]}
	if _, errs, code := sentio(t, other, "publish", "--call-id", "c2", file); code == 0 || !strings.Contains(errs, "publisher.nk") || !strings.Contains(errs, "--nkey") {
		t.Fatalf("publish without credentials: exit %d\n%s", code, errs)
	}

	// An explicit URL wins, with the credentials given explicitly.
	if _, errs, code := sentio(t, nil, "publish", "--nats", url, "--call-id", "c3", file); code == 0 || !strings.Contains(strings.ToLower(errs), "authorization violation") || !strings.Contains(errs, "--nkey") {
		t.Fatalf("publish to an explicit URL without credentials: exit %d\n%s", code, errs)
	}
	pubKey := filepath.Join(daemon.CredentialsDir(state), "publisher.nk")
	if out, errs, code := sentio(t, nil, "publish", "--nats", url, "--nkey", pubKey, "--call-id", "c3", file); code != 0 {
		t.Fatalf("publish --nats --nkey: exit %d\n%s%s", code, out, errs)
	}
	// The subscriber's key cannot publish audio.
	subKey := daemon.CredentialsFile(state, daemon.UserSubscriber)
	if _, errs, code := sentio(t, nil, "publish", "--nats", url, "--nkey", subKey, "--call-id", "c4", file); code == 0 {
		t.Fatalf("publish with the subscriber's key: exit 0\n%s", errs)
	}
	if n := len(streamMsgs(t, js, "SENTIO_AUDIO", "sentio.audio.>")); n != 2 {
		t.Fatalf("%d audio messages, want 2 (c1, c3)", n)
	}
	// A clip over the maximum payload goes through the object store, also when it is published
	// again (the publisher may not purge the bucket's old copy: it keeps it).
	big := writeWAV(t, 40)
	for i := 0; i < 2; i++ {
		t0 := time.Now()
		if out, errs, code := sentio(t, env, "publish", "--call-id", "big", big); code != 0 {
			t.Fatalf("publish of a large clip (%d): exit %d\n%s%s", i, code, out, errs)
		}
		if el := time.Since(t0); el > 4*time.Second {
			t.Errorf("publish of a large clip (%d) took %v", i, el)
		}
	}
	// $NATS_URL is an explicit URL too.
	if _, errs, code := sentio(t, append([]string{"NATS_URL=" + url}, env...), "tail", "--count", "1", "--timeout", "2s"); code == 0 || !strings.Contains(strings.ToLower(errs), "authorization violation") {
		t.Fatalf("tail with $NATS_URL and no credentials: exit %d\n%s", code, errs)
	}
}
