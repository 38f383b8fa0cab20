package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
)

// The users of the embedded NATS server when nats.embedded_auth is on (the default). Each logs
// in with an nkey whose seed sentio generates on its first start into [CredentialsFile].
const (
	// UserDaemon is sentio itself: every right in the account holding the streams, consumers,
	// object store and members bucket. Operators use it to read the DLQ.
	UserDaemon = "daemon"
	// UserPublisher publishes audio on <audio_subject>.<call_id> (with PubAcks) and stores
	// large clips in the object store bucket; it can read nothing back.
	UserPublisher = "publisher"
	// UserSubscriber reads results and summaries: live on <result_subject>.>, and from its
	// account's copy of the results stream, where it creates its own consumers. It sees no audio
	// and no DLQ (rejected input is audio).
	UserSubscriber = "subscriber"
)

var embeddedUsers = []string{UserDaemon, UserPublisher, UserSubscriber}

// Each role is an account of its own: what the server sends on a client's behalf (a PubAck, a
// direct get's answer, a consumer's deliveries) goes to subjects of that client's account only.
// Permissions within one shared account would not do: a publisher could name a subject of the
// members bucket as the reply subject of its audio, and the server would store the PubAck
// there.
const (
	accountDaemon      = "SENTIO"
	accountPublishers  = "PUBLISHERS"
	accountSubscribers = "SUBSCRIBERS"
	// subscribersAPI is where the subscribers' account sees the part of the daemon account's
	// JetStream API that sources its copy of the results stream; its users may not use it.
	subscribersAPI = "$JS.SENTIO.API"
	// subscribersDeliver prefixes the subjects on which the results reach that copy.
	subscribersDeliver = "_SENTIO.results"
)

// CredentialsDir is the directory of the embedded server's credentials, state_dir/auth (mode
// 0700).
func CredentialsDir(stateDir string) string { return filepath.Join(stateDir, "auth") }

// CredentialsFile is user's nkey seed file, e.g. state_dir/auth/publisher.nk (mode 0600): the
// nats CLI takes it with --nkey, nats.go with nats.NkeyOptionFromSeed, sentio publish and tail
// find it themselves.
func CredentialsFile(stateDir, user string) string {
	return filepath.Join(CredentialsDir(stateDir), user+".nk")
}

// loadCredentials reads the users' seeds from state_dir/auth, generating the missing ones (on
// the first start), and keeps the directory and the files private to sentio's system user.
func loadCredentials(stateDir string) (map[string]nkeys.KeyPair, error) {
	dir := CredentialsDir(stateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state_dir: creating %s for the embedded NATS credentials: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	keys := make(map[string]nkeys.KeyPair, len(embeddedUsers))
	for _, u := range embeddedUsers {
		kp, err := loadOrCreateSeed(CredentialsFile(stateDir, u))
		if err != nil {
			return nil, err
		}
		keys[u] = kp
	}
	return keys, nil
}

func loadOrCreateSeed(path string) (nkeys.KeyPair, error) {
	seed, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return nil, err
		}
		seed, err := kp.Seed()
		if err != nil {
			return nil, err
		}
		if err := writePrivate(path, append(seed, '\n')); err != nil {
			return nil, fmt.Errorf("state_dir: writing %s: %w", path, err)
		}
		return kp, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	kp, err := nkeys.FromSeed(bytes.TrimSpace(seed))
	if err == nil {
		var pub string
		if pub, err = kp.PublicKey(); err == nil && !nkeys.IsValidPublicUserKey(pub) {
			err = errors.New("not a user key")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s is not an nkey user seed (%v): delete it and sentio makes a new one", path, err)
	}
	return kp, nil
}

// writePrivate creates path with data, mode 0600, atomically.
func writePrivate(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// authConfig is the embedded server's accounts and users, in nats-server's configuration
// language (its Go options cannot enable JetStream per account).
//
//   - SENTIO (JetStream): the daemon, with every right. It exports to PUBLISHERS the audio
//     subjects and what the object store's Put needs (its subjects, the bucket's stream info and
//     direct gets of object metadata), and to SUBSCRIBERS the live results and the consumer API
//     of the results stream (results, summaries and alert events), for sourcing.
//   - PUBLISHERS (no JetStream of its own): the publisher, which may publish those and nothing
//     else.
//   - SUBSCRIBERS (JetStream): the subscriber, which reads its account's copy of the results
//     stream (sourced from SENTIO's) and the live results; and admin, an in-memory user with
//     which sentio creates that copy.
func authConfig(n config.NATS, keys map[string]nkeys.KeyPair, admin nkeys.KeyPair) (string, error) {
	names := bus.NamesOf(n)
	objStream := "OBJ_" + bus.ObjectBucket
	obj := "$O." + bus.ObjectBucket
	rs := names.ResultStream
	publish := []string{
		names.AudioSubject + ".>",
		obj + ".>",
		// Importing it keeps the server from attaching its own JetStream API to PUBLISHERS,
		// which would answer "not enabled" to the requests below too.
		"$JS.API.INFO",
		"$JS.API.STREAM.INFO." + objStream,
		"$JS.API.DIRECT.GET." + objStream + "." + obj + ".M.>",
	}
	consumerCreate := []string{"$JS.API.CONSUMER.CREATE." + rs, "$JS.API.CONSUMER.CREATE." + rs + ".>"}
	flowControl := "$JS.FC." + rs + ".>"

	pub := func(kp nkeys.KeyPair) (string, error) { return kp.PublicKey() }
	var daemonKey, pubKey, subKey, adminKey string
	var err error
	for _, k := range []struct {
		dst *string
		kp  nkeys.KeyPair
	}{{&daemonKey, keys[UserDaemon]}, {&pubKey, keys[UserPublisher]}, {&subKey, keys[UserSubscriber]}, {&adminKey, admin}} {
		if *k.dst, err = pub(k.kp); err != nil {
			return "", err
		}
	}

	var b strings.Builder
	q := strconv.Quote
	list := func(subjects []string) string {
		quoted := make([]string, len(subjects))
		for i, s := range subjects {
			quoted[i] = q(s)
		}
		return "[" + strings.Join(quoted, ", ") + "]"
	}
	fmt.Fprintf(&b, "accounts: {\n  %s: {\n    jetstream: enabled\n    users: [{nkey: %s}]\n    exports: [\n", accountDaemon, q(daemonKey))
	for _, s := range publish {
		fmt.Fprintf(&b, "      {service: %s, accounts: [%s]}\n", q(s), accountPublishers)
	}
	fmt.Fprintf(&b, "      {stream: %s, accounts: [%s]}\n", q(names.ResultSubject+".>"), accountSubscribers)
	fmt.Fprintf(&b, "      {stream: %s, accounts: [%s]}\n", q(names.EventSubject+".>"), accountSubscribers)
	for _, s := range append(consumerCreate, flowControl) {
		fmt.Fprintf(&b, "      {service: %s, accounts: [%s]}\n", q(s), accountSubscribers)
	}
	fmt.Fprintf(&b, "      {stream: %s, accounts: [%s]}\n    ]\n  }\n", q(subscribersDeliver+".>"), accountSubscribers)

	fmt.Fprintf(&b, "  %s: {\n    users: [{nkey: %s, permissions: {publish: {allow: %s}, subscribe: {allow: [\"_INBOX.>\"]}}}]\n    imports: [\n",
		accountPublishers, q(pubKey), list(publish))
	for _, s := range publish {
		fmt.Fprintf(&b, "      {service: {account: %s, subject: %s}}\n", accountDaemon, q(s))
	}
	b.WriteString("    ]\n  }\n")

	subscriberPublish := []string{
		"$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST", "$JS.API.STREAM.INFO." + rs,
		"$JS.API.STREAM.MSG.GET." + rs, "$JS.API.DIRECT.GET." + rs, "$JS.API.DIRECT.GET." + rs + ".>",
		"$JS.API.CONSUMER.>", "$JS.ACK." + rs + ".>", flowControl,
	}
	fmt.Fprintf(&b, "  %s: {\n    jetstream: enabled\n    users: [\n      {nkey: %s, permissions: {publish: {allow: %s}, subscribe: {allow: %s}}}\n      {nkey: %s}\n    ]\n    imports: [\n",
		accountSubscribers, q(subKey), list(subscriberPublish), list([]string{"_INBOX.>", names.ResultSubject + ".>", names.EventSubject + ".>"}), q(adminKey))
	fmt.Fprintf(&b, "      {stream: {account: %s, subject: %s}}\n", accountDaemon, q(names.ResultSubject+".>"))
	fmt.Fprintf(&b, "      {stream: {account: %s, subject: %s}}\n", accountDaemon, q(names.EventSubject+".>"))
	for _, s := range consumerCreate {
		fmt.Fprintf(&b, "      {service: {account: %s, subject: %s}, to: %s}\n", accountDaemon, q(s), q(strings.Replace(s, "$JS.API", subscribersAPI, 1)))
	}
	fmt.Fprintf(&b, "      {service: {account: %s, subject: %s}}\n", accountDaemon, q(flowControl))
	fmt.Fprintf(&b, "      {stream: {account: %s, subject: %s}}\n    ]\n  }\n}\n", accountDaemon, q(subscribersDeliver+".>"))
	return b.String(), nil
}

// moveAccountStore moves the JetStream store between the global account (no authentication, and
// sentio before it had authentication) and the daemon's account, so that the streams survive
// turning nats.embedded_auth on or off.
func moveAccountStore(store string, auth bool, log *slog.Logger) error {
	from := filepath.Join(store, "jetstream", server.DEFAULT_GLOBAL_ACCOUNT)
	to := filepath.Join(store, "jetstream", accountDaemon)
	if !auth {
		from, to = to, from
	}
	if _, err := os.Stat(filepath.Join(from, "streams")); err != nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(to, "streams")); err == nil {
		log.Warn("two JetStream stores: using the one of the account in use, the other stays where it is", "using", to, "ignored", from)
		return nil
	}
	os.Remove(to) // an empty leftover
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("state_dir: moving the JetStream store from %s to %s: %w", from, to, err)
	}
	log.Info("moved the JetStream store to the account in use", "from", from, "to", to)
	return nil
}

func nkeyOption(kp nkeys.KeyPair) nats.Option {
	pub, _ := kp.PublicKey()
	return nats.Nkey(pub, kp.Sign)
}

// setupSubscribers creates, or updates, the subscribers' account's copy of the results stream,
// sourced from the daemon account's one (the first time, from its first message).
func (e *embedded) setupSubscribers(ctx context.Context, cfg *config.Config) error {
	if e.admin == nil {
		return nil
	}
	nc, err := nats.Connect("", nats.InProcessServer(e.Server), nkeyOption(e.admin), nats.Name("sentio subscribers setup"))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	rs := bus.NamesOf(cfg.NATS).ResultStream
	maxBytes := cfg.NATS.MaxBytes
	if maxBytes == 0 {
		maxBytes = config.Defaults().NATS.MaxBytes
	}
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        rs,
		Description: "sentio results and call summaries, copied for subscribers",
		Sources: []*jetstream.StreamSource{{Name: rs,
			External: &jetstream.ExternalStream{APIPrefix: subscribersAPI, DeliverPrefix: subscribersDeliver}}},
		Retention: jetstream.LimitsPolicy,
		Storage:   jetstream.FileStorage,
		MaxAge:    cfg.NATS.MaxAge,
		MaxBytes:  maxBytes,
	})
	if err != nil {
		return fmt.Errorf("creating the subscribers' results stream %s: %w", rs, err)
	}
	return nil
}

// ClientURL is the URL at which a tool on this machine (sentio publish, sentio tail) reaches
// the NATS server of cfg: the embedded server on nats.listen (loopback when it listens on every
// interface; tls:// with nats.tls.cert), or nats.url.
func ClientURL(cfg *config.Config) (string, error) {
	if !cfg.NATS.Embedded {
		return cfg.NATS.URL, nil
	}
	host, port, err := net.SplitHostPort(cfg.NATS.Listen)
	if err != nil {
		return "", fmt.Errorf("nats.listen %q: %w", cfg.NATS.Listen, err)
	}
	if port == "0" {
		return "", fmt.Errorf("nats.listen %s has port 0 (a random port): give the server's URL with --nats", cfg.NATS.Listen)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	scheme := "nats"
	if cfg.NATS.TLS.Cert != "" {
		scheme = "tls"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// ClientTLS are the nats.go options with which a tool on this machine verifies the NATS server
// of cfg: nats.tls.ca, or the embedded server's own certificate when ca is empty.
func ClientTLS(cfg *config.Config) []nats.Option {
	n := cfg.NATS
	if !n.Embedded {
		return tlsOptions(n)
	}
	switch {
	case n.TLS.Cert == "":
		return nil
	case n.TLS.CA != "":
		return []nats.Option{nats.RootCAs(n.TLS.CA)}
	default:
		return []nats.Option{nats.RootCAs(n.TLS.Cert)}
	}
}

// ClientAuth are the nats.go options with which a tool on this machine logs in to the NATS
// server of cfg as user: user's seed in state_dir/auth for the embedded server (none with
// nats.embedded_auth false), the configured credentials for nats.url.
func ClientAuth(cfg *config.Config, user string) ([]nats.Option, error) {
	if !cfg.NATS.Embedded {
		auth, err := CredOptions(cfg.NATS)
		if err != nil {
			return nil, fmt.Errorf("nats.nkey: %w", err)
		}
		return auth, nil
	}
	if !cfg.NATS.EmbeddedAuth {
		return nil, nil
	}
	path := CredentialsFile(cfg.StateDir, user)
	o, err := nats.NkeyOptionFromSeed(path)
	if err != nil {
		return nil, fmt.Errorf("the %s credentials of the embedded NATS server: %w (sentio run makes them in its state_dir on its first start, readable only by its user: run this as that user or with --state-dir, or pass a copy with --nkey)", user, err)
	}
	return []nats.Option{o}, nil
}
