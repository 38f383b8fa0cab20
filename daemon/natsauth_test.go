package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
)

// streams is a component that creates sentio's streams, consumers, object store bucket and
// members bucket when it starts, as the pipeline does.
type streams struct{ gate }

func (s *streams) Start(ctx context.Context, env *Env) error {
	s.env = env
	if _, err := bus.Setup(ctx, env.JetStream, env.Config.NATS); err != nil {
		return err
	}
	if _, err := bus.ObjectStore(ctx, env.JetStream, env.Config.NATS); err != nil {
		return err
	}
	if _, err := env.JetStream.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bus.MembersBucket}); err != nil {
		return err
	}
	s.ready.Store(true)
	return nil
}

// secured is a daemon on the default embedded NATS (authentication on) with sentio's streams.
type secured struct {
	*running
	cfg    *config.Config
	url    string
	daemon *nats.Conn // connected with the daemon's credentials
	js     jetstream.JetStream
}

func startSecured(t *testing.T, more ...config.Override) *secured {
	t.Helper()
	cfg := testConfig(t, more...)
	r := startDaemon(t, cfg, &streams{gate{name: "streams"}})
	r.logs.waitFor(t, "ready", 20*time.Second)
	return newSecured(t, r, cfg)
}

// newSecured connects to the ready daemon r, started with cfg, with the daemon's credentials.
func newSecured(t *testing.T, r *running, cfg *config.Config) *secured {
	t.Helper()
	s := &secured{running: r, cfg: cfg, url: r.logs.waitFor(t, "nats ready", time.Second)["listen"].(string)}
	s.daemon, s.js = s.connect(t, UserDaemon)
	return s
}

// connect connects to the embedded server with user's generated credentials.
func (s *secured) connect(t *testing.T, user string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := s.dial(user, opts...)
	if err != nil {
		t.Fatalf("connecting as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func (s *secured) dial(user string, opts ...nats.Option) (*nats.Conn, error) {
	auth, err := nats.NkeyOptionFromSeed(CredentialsFile(s.cfg.StateDir, user))
	if err != nil {
		return nil, err
	}
	// ClientTLS: trust the embedded listener's certificate (nats.tls.ca) when it has one.
	return nats.Connect(s.url, append(append(ClientTLS(s.cfg), auth, nats.Timeout(5*time.Second)), opts...)...)
}

// asyncErrors collects a connection's asynchronous errors (permission violations).
type asyncErrors struct {
	mu   sync.Mutex
	errs []string
}

func (a *asyncErrors) option() nats.Option {
	return nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.errs = append(a.errs, err.Error())
	})
}

func (a *asyncErrors) has(s string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range a.errs {
		if strings.Contains(strings.ToLower(e), strings.ToLower(s)) {
			return true
		}
	}
	return false
}

func short() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 1500*time.Millisecond)
}

func (s *secured) streamMsgs(t *testing.T, stream string) uint64 {
	t.Helper()
	ctx, cancel := short()
	defer cancel()
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	return st.CachedInfo().State.Msgs
}

func (s *secured) memberKeys(t *testing.T) []string {
	t.Helper()
	ctx, cancel := short()
	defer cancel()
	kv, err := s.js.KeyValue(ctx, bus.MembersBucket)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// sentinel is the key and result subject the daemon's own barrier messages use.
const sentinel = "sentinel"

// assertNoForgery checks, after who's attempts, that the members bucket has no key and the
// results stream only the daemon's results. Instead of sleeping a while for what the server
// might store on who's behalf, it waits for events that show the server has dealt with the
// attempts: the permission violations of the publishes it refused (denied, on who's asynchronous
// errors), then a barrier: the daemon has the server store one message in the members bucket and
// one in the results stream by the route of the attacks (the PubAck of an audio message sent to
// a reply subject, legitimate in the daemon's own account), and waits for both to be stored.
// What the server sent that way before the barrier is then stored too.
func (s *secured) assertNoForgery(t *testing.T, who string, results uint64, aerr *asyncErrors, denied ...string) {
	t.Helper()
	for _, subj := range denied {
		eventually(t, 5*time.Second, "the server to refuse the "+who+"'s publish to "+subj, func() bool {
			return aerr.has(`permissions violation for publish to "` + subj + `"`)
		})
	}
	for _, reply := range []string{"$KV." + bus.MembersBucket + "." + sentinel, "sentio.results." + sentinel} {
		if err := s.daemon.PublishRequest("sentio.audio."+sentinel, reply, []byte("RIFF")); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	eventually(t, 10*time.Second, "the daemon's barrier messages to be stored", func() bool {
		keys = s.memberKeys(t)
		return slices.Contains(keys, sentinel) && s.streamMsgs(t, "SENTIO_RESULTS") >= results+1
	})
	if keys = slices.DeleteFunc(keys, func(k string) bool { return k == sentinel }); len(keys) != 0 {
		t.Errorf("the %s wrote member keys %q", who, keys)
	}
	if n := s.streamMsgs(t, "SENTIO_RESULTS"); n != results+1 {
		t.Errorf("the results stream has %d messages after the %s's attempts, want the daemon's %d and the barrier", n, who, results)
	}
}

func TestEmbeddedNATSRefusesClientsWithoutCredentials(t *testing.T) {
	s := startSecured(t)
	if nc, err := nats.Connect(s.url, nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Fatal("an anonymous client connected to the embedded server")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
		t.Fatalf("anonymous connect: %v, want an authorization violation", err)
	}
	// A key the server does not know is refused too.
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	if nc, err := nats.Connect(s.url, nats.Nkey(pub, kp.Sign)); err == nil {
		nc.Close()
		t.Fatal("an unknown nkey connected")
	}
	if !s.logs.has("ready") {
		t.Fatal("the daemon itself did not get ready with its credentials")
	}
}

func TestEmbeddedNATSCredentialsFilesArePrivateAndStable(t *testing.T) {
	s := startSecured(t)
	dir := CredentialsDir(s.cfg.StateDir)
	if fi, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm() != 0o700 {
		t.Fatalf("credentials directory %s: mode %v; want 0700", dir, fi.Mode().Perm())
	}
	seeds := map[string][]byte{}
	for _, u := range []string{UserDaemon, UserPublisher, UserSubscriber} {
		p := CredentialsFile(s.cfg.StateDir, u)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v; want 0600", p, fi.Mode().Perm())
		}
		seeds[u], _ = os.ReadFile(p)
	}
	if err := s.stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	// A restart keeps the credentials, and so the clients that have them, and the streams.
	r := startDaemon(t, s.cfg, &streams{gate{name: "streams"}})
	r.logs.waitFor(t, "ready", 20*time.Second)
	s2 := &secured{running: r, cfg: s.cfg, url: r.logs.waitFor(t, "nats ready", time.Second)["listen"].(string)}
	for u, seed := range seeds {
		if now, _ := os.ReadFile(CredentialsFile(s.cfg.StateDir, u)); string(now) != string(seed) {
			t.Errorf("%s's credentials changed across a restart", u)
		}
		s2.connect(t, u)
	}
	if strings.Contains(r.logs.dump(), strings.TrimSpace(string(seeds[UserDaemon]))) {
		t.Error("a seed appears in the log")
	}
}

func TestPublisherPublishesAudioAndNothingElse(t *testing.T) {
	s := startSecured(t)
	var aerr asyncErrors
	pc, pjs := s.connect(t, UserPublisher, aerr.option())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// It publishes audio, with a PubAck.
	if _, err := pjs.Publish(ctx, "sentio.audio.call-1", []byte("RIFF")); err != nil {
		t.Fatalf("publisher publishing audio: %v", err)
	}
	if n := s.streamMsgs(t, "SENTIO_AUDIO"); n != 1 {
		t.Fatalf("audio stream has %d messages, want 1", n)
	}
	// It stores a large clip in the object store bucket the daemon made.
	obs, err := pjs.ObjectStore(ctx, bus.ObjectBucket)
	if err != nil {
		t.Fatalf("publisher binding the object store: %v", err)
	}
	big := make([]byte, 300<<10)
	if _, err := obs.PutBytes(ctx, "call-1-abc", big); err != nil {
		t.Fatalf("publisher storing a clip: %v", err)
	}
	dobs, _ := s.js.ObjectStore(ctx, bus.ObjectBucket)
	if got, err := dobs.GetBytes(ctx, "call-1-abc"); err != nil || len(got) != len(big) {
		t.Fatalf("the daemon reading the clip: %d bytes, %v", len(got), err)
	}

	// It cannot read results, audio or the DLQ.
	if _, err := s.js.Publish(ctx, "sentio.results.call-1", []byte(`{"call_id":"call-1"}`)); err != nil {
		t.Fatal(err)
	}
	sctx, scancel := short()
	if _, err := pjs.OrderedConsumer(sctx, "SENTIO_RESULTS", jetstream.OrderedConsumerConfig{}); err == nil {
		cons, _ := pjs.OrderedConsumer(sctx, "SENTIO_RESULTS", jetstream.OrderedConsumerConfig{})
		if m, err := cons.Next(jetstream.FetchMaxWait(time.Second)); err == nil {
			t.Fatalf("the publisher read a result: %s", m.Data())
		}
	}
	scancel()
	for _, subj := range []string{"sentio.results.>", "sentio.audio.>", "sentio.dlq.>", "$O.sentio-audio.>"} {
		sub, err := pc.SubscribeSync(subj)
		if err == nil {
			pc.Flush()
			if m, err := sub.NextMsg(300 * time.Millisecond); err == nil {
				t.Errorf("the publisher received %s on %s", m.Data, m.Subject)
			}
		}
	}
	eventually(t, 2*time.Second, "permission violations for the publisher's subscriptions", func() bool {
		return aerr.has("permissions violation for subscription")
	})
	if got, err := obs.GetBytes(ctx, "call-1-abc"); err == nil {
		t.Fatalf("the publisher read back a stored clip (%d bytes)", len(got))
	}

	// It cannot delete or purge streams, or change the bucket.
	for _, stream := range []string{"SENTIO_AUDIO", "SENTIO_RESULTS", "OBJ_" + bus.ObjectBucket, "KV_" + bus.MembersBucket} {
		sctx, scancel := short()
		if err := pjs.DeleteStream(sctx, stream); err == nil {
			t.Errorf("the publisher deleted stream %s", stream)
		}
		scancel()
	}
	sctx, scancel = short()
	if _, err := pjs.CreateOrUpdateObjectStore(sctx, jetstream.ObjectStoreConfig{Bucket: bus.ObjectBucket, TTL: time.Second}); err == nil {
		t.Error("the publisher changed the object store bucket")
	}
	scancel()
	for _, stream := range []string{"SENTIO_AUDIO", "SENTIO_RESULTS", "SENTIO_DLQ"} {
		s.streamMsgs(t, stream) // still there
	}

	// It cannot write the members bucket: not directly, and not through the reply subject of
	// a request the server answers (a PubAck, a direct get).
	pc.Publish("$KV.sentio-members.evil-1", []byte("x"))
	pc.PublishRequest("sentio.audio.call-2", "$KV.sentio-members.evil-2", []byte("RIFF"))
	pc.PublishRequest("$JS.API.DIRECT.GET.OBJ_sentio-audio.$O.sentio-audio.M.Y2FsbC0xLWFiYw==", "$KV.sentio-members.evil-3", nil)
	pc.PublishRequest("sentio.audio.call-3", "sentio.results.fake", []byte("RIFF"))
	pc.Flush()
	sctx, scancel = short()
	if kv, err := pjs.KeyValue(sctx, bus.MembersBucket); err == nil {
		if _, err := kv.Put(sctx, "evil-4", []byte("x")); err == nil {
			t.Error("the publisher put a key in the members bucket")
		}
	}
	scancel()
	s.assertNoForgery(t, "publisher", 1, &aerr, "$KV.sentio-members.evil-1")
}

func TestSubscriberReadsResultsAndNothingElse(t *testing.T) {
	s := startSecured(t)
	var aerr asyncErrors
	sc, sjs := s.connect(t, UserSubscriber, aerr.option())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	live, err := sc.SubscribeSync("sentio.results.>")
	if err != nil {
		t.Fatal(err)
	}
	sc.Flush()
	for _, subj := range []string{"sentio.results.call-1", "sentio.results.call-1.summary"} {
		if _, err := s.js.Publish(ctx, subj, []byte(`{"call_id":"call-1"}`)); err != nil {
			t.Fatal(err)
		}
	}
	// Live, on the result subjects.
	if m, err := live.NextMsg(5 * time.Second); err != nil || m.Subject != "sentio.results.call-1" {
		t.Fatalf("the subscriber's subscription: %v", err)
	}
	// And from the results stream, earlier results included (as `sentio tail --call-id` reads).
	var cons jetstream.Consumer
	eventually(t, 15*time.Second, "the subscriber's results stream", func() bool {
		c, err := sjs.OrderedConsumer(ctx, "SENTIO_RESULTS", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"sentio.results.call-1", "sentio.results.call-1.summary"}})
		if err != nil {
			return false
		}
		st, err := sjs.Stream(ctx, "SENTIO_RESULTS")
		if err != nil || st.CachedInfo().State.Msgs < 2 {
			return false
		}
		cons = c
		return true
	})
	for _, want := range []string{"sentio.results.call-1", "sentio.results.call-1.summary"} {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil || m.Subject() != want || string(m.Data()) != `{"call_id":"call-1"}` {
			t.Fatalf("the subscriber reading results: %v", err)
		}
	}

	// It cannot publish audio.
	sctx, scancel := short()
	if _, err := sjs.Publish(sctx, "sentio.audio.call-9", []byte("RIFF")); err == nil {
		t.Error("the subscriber published audio with a PubAck")
	}
	scancel()
	sc.Publish("sentio.audio.call-9", []byte("RIFF"))
	sc.Flush()
	eventually(t, 5*time.Second, "the server to refuse the subscriber's audio", func() bool {
		return aerr.has(`permissions violation for publish to "sentio.audio.call-9"`)
	})
	if n := s.streamMsgs(t, "SENTIO_AUDIO"); n != 0 {
		t.Errorf("the audio stream has %d messages from the subscriber", n)
	}
	// It cannot read audio or the DLQ.
	for _, stream := range []string{"SENTIO_AUDIO", "SENTIO_DLQ"} {
		sctx, scancel := short()
		if _, err := sjs.Stream(sctx, stream); err == nil {
			t.Errorf("the subscriber sees stream %s", stream)
		}
		scancel()
	}
	for _, subj := range []string{"sentio.audio.>", "sentio.dlq.>"} {
		if sub, err := sc.SubscribeSync(subj); err == nil {
			sc.Flush()
			if m, err := sub.NextMsg(300 * time.Millisecond); err == nil {
				t.Errorf("the subscriber received %s", m.Subject)
			}
		}
	}
	eventually(t, 2*time.Second, "permission violations for the subscriber's subscriptions", func() bool {
		return aerr.has("permissions violation for subscription")
	})
	// It cannot change the results stream everyone reads, nor write the members bucket: not
	// directly, and not by having a consumer deliver results there.
	sctx, scancel = short()
	if err := sjs.DeleteStream(sctx, "SENTIO_RESULTS"); err == nil {
		t.Error("the subscriber deleted the results stream")
	}
	scancel()
	sc.Publish("$KV.sentio-members.evil-1", []byte("x"))
	sctx, scancel = short()
	sjs.CreateConsumer(sctx, "SENTIO_RESULTS", jetstream.ConsumerConfig{Name: "evil", DeliverPolicy: jetstream.DeliverAllPolicy})
	scancel()
	sc.PublishRequest("$JS.API.CONSUMER.MSG.NEXT.SENTIO_RESULTS.evil", "$KV.sentio-members.evil-2", []byte(`{"batch":2}`))
	sc.Flush()
	s.assertNoForgery(t, "subscriber", 2, &aerr, "$KV.sentio-members.evil-1")
}

func TestEmbeddedNATSWithTLS(t *testing.T) {
	p := newPKI(t)
	s := startSecured(t, config.Override{Key: "nats.tls.cert", Value: p.serverCert},
		config.Override{Key: "nats.tls.key", Value: p.serverKey}, config.Override{Key: "nats.tls.ca", Value: p.ca})
	if !strings.HasPrefix(s.url, "tls://") {
		t.Errorf("nats ready listen = %q, want tls://", s.url)
	}
	// In clear, it is refused.
	if nc, err := nats.Connect(strings.Replace(s.url, "tls://", "nats://", 1), nats.Timeout(3*time.Second)); err == nil {
		nc.Close()
		t.Fatal("a client without TLS connected")
	}
	// With TLS and the publisher's credentials, it is accepted.
	pc, pjs := s.connect(t, UserPublisher, nats.RootCAs(p.ca))
	if !pc.TLSRequired() {
		t.Error("connection without TLS")
	}
	ctx, cancel := short()
	defer cancel()
	if _, err := pjs.Publish(ctx, "sentio.audio.call-1", []byte("RIFF")); err != nil {
		t.Fatal(err)
	}
}

func TestEmbeddedAuthOffKeepsTheStoreAndTurningItOnMovesIt(t *testing.T) {
	// A state directory from before authentication (or with nats.embedded_auth: false): an
	// anonymous client works, and there are no credentials.
	cfg := testConfig(t, config.Override{Key: "nats.embedded_auth", Value: "false"})
	r := startDaemon(t, cfg, &streams{gate{name: "streams"}})
	r.logs.waitFor(t, "ready", 20*time.Second)
	url := r.logs.waitFor(t, "nats ready", time.Second)["listen"].(string)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("anonymous connect with nats.embedded_auth false: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, "sentio.audio.call-1", []byte("RIFF")); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	if _, err := os.Stat(CredentialsDir(cfg.StateDir)); err == nil {
		t.Error("credentials were made with nats.embedded_auth false")
	}
	if err := r.stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	// Authentication on, same state directory: the unacked audio is still there.
	cfg2 := *cfg
	cfg2.NATS.EmbeddedAuth = true
	r = startDaemon(t, &cfg2, &streams{gate{name: "streams"}})
	r.logs.waitFor(t, "ready", 20*time.Second)
	s := newSecured(t, r, &cfg2)
	if n := s.streamMsgs(t, "SENTIO_AUDIO"); n != 1 {
		t.Fatalf("after turning authentication on the audio stream has %d messages, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, "nats", "jetstream")); err != nil {
		t.Error(err)
	}
}
