package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/sentio-health/sentio/config"
)

// embedded is the in-process NATS server and how sentio logs in to it.
type embedded struct {
	*server.Server
	// daemon is sentio's own key (UserDaemon); nil without authentication.
	daemon nkeys.KeyPair
	// admin administers the subscribers' account (their copy of the results stream); it lives
	// in memory only, a new one at each start.
	admin nkeys.KeyPair
}

// clientOptions are the options of sentio's own, in-process, connection.
func (e *embedded) clientOptions() []nats.Option {
	opts := []nats.Option{nats.InProcessServer(e.Server)}
	if e.daemon != nil {
		opts = append(opts, nkeyOption(e.daemon))
	}
	return opts
}

// startEmbedded runs the embedded NATS server with JetStream, its store under state_dir/nats,
// listening on nats.listen (port 0 picks a free port), with TLS when nats.tls.cert is set. With
// nats.embedded_auth (the default) it requires the credentials in state_dir/auth, generated on
// the first start, and each user gets only its rights (see authConfig).
func startEmbedded(cfg *config.Config, log *slog.Logger) (*embedded, error) {
	host, portStr, err := net.SplitHostPort(cfg.NATS.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats.listen %q: %w", cfg.NATS.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("nats.listen %q: port is not a number", cfg.NATS.Listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	} else {
		// nats-server reports a busy port only through its logger; check first for a clear error.
		ln, err := net.Listen("tcp", cfg.NATS.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded NATS cannot listen on nats.listen %s: %w (is another sentio or nats-server running? set nats.listen, or nats.url to use that server)", cfg.NATS.Listen, err)
		}
		ln.Close()
	}
	store := filepath.Join(cfg.StateDir, "nats")
	if err := os.MkdirAll(store, 0o700); err != nil {
		return nil, fmt.Errorf("state_dir: creating the JetStream store: %w (set state_dir or SENTIO_STATE_DIR to a writable directory)", err)
	}
	e := &embedded{}
	opts := &server.Options{}
	if cfg.NATS.EmbeddedAuth {
		keys, err := loadCredentials(cfg.StateDir)
		if err != nil {
			return nil, err
		}
		if e.admin, err = nkeys.CreateUser(); err != nil {
			return nil, err
		}
		conf, err := authConfig(cfg.NATS, keys, e.admin)
		if err != nil {
			return nil, err
		}
		if err := opts.ProcessConfigString(conf); err != nil {
			return nil, fmt.Errorf("embedded NATS accounts: %w", err)
		}
		e.daemon = keys[UserDaemon]
	} else if !config.LoopbackAddr(cfg.NATS.Listen) {
		return nil, fmt.Errorf("nats.listen %s is not a loopback address and nats.embedded_auth is false: refusing to serve audio and results to anyone who reaches it", cfg.NATS.Listen)
	}
	if err := moveAccountStore(store, cfg.NATS.EmbeddedAuth, log); err != nil {
		return nil, err
	}
	opts.ServerName, opts.Host, opts.Port = "sentio", host, port
	opts.JetStream, opts.StoreDir, opts.NoSigs = true, store, true
	if t := cfg.NATS.TLS; t.Cert != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: t.Cert, KeyFile: t.Key})
		if err != nil {
			return nil, fmt.Errorf("nats.tls.cert %s, nats.tls.key %s: %w", t.Cert, t.Key, err)
		}
		opts.TLS, opts.TLSConfig = true, tc
	} else if !config.LoopbackAddr(cfg.NATS.Listen) {
		log.Warn("the embedded NATS server listens beyond this machine without TLS: audio and results cross the network in clear (set nats.tls.cert and nats.tls.key)", "listen", cfg.NATS.Listen)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	e.Server = s
	s.SetLoggerV2(natsLogger{log.With("component", "nats-server")}, false, false, false)
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded NATS on %s did not become ready within 30s (see the nats-server log lines above)", cfg.NATS.Listen)
	}
	if !s.JetStreamEnabled() {
		s.Shutdown()
		return nil, errors.New("embedded NATS started without JetStream (see the nats-server log lines above)")
	}
	return e, nil
}

// natsLogger forwards the embedded server's log to slog: its notices are debug lines (they are
// chatty: banners, limits), warnings and errors keep their level.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(f string, v ...any) { l.log.Debug(fmt.Sprintf(f, v...)) }
func (l natsLogger) Warnf(f string, v ...any)   { l.log.Warn(fmt.Sprintf(f, v...)) }
func (l natsLogger) Fatalf(f string, v ...any)  { l.log.Error(fmt.Sprintf(f, v...)) }
func (l natsLogger) Errorf(f string, v ...any)  { l.log.Error(fmt.Sprintf(f, v...)) }
func (l natsLogger) Debugf(f string, v ...any)  { l.log.Debug(fmt.Sprintf(f, v...)) }
func (l natsLogger) Tracef(f string, v ...any)  {}

// connect opens the client connection: in-process to the embedded server (as UserDaemon), or to
// nats.url with the configured credentials and TLS. It retries forever, logging each disconnect
// and reconnect, and waits (until ctx ends) for the first connection.
func connect(ctx context.Context, cfg *config.Config, embedded *embedded, log *slog.Logger) (*nats.Conn, error) {
	log = log.With("component", "nats")
	opts := []nats.Option{
		nats.Name("sentio"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(true),
		nats.DrainTimeout(cfg.ShutdownTimeout),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Error("nats error", "subject", subject, "err", err)
		}),
	}
	target := "embedded"
	if embedded != nil {
		opts = append(opts, embedded.clientOptions()...)
	} else {
		target = config.RedactURLs(cfg.NATS.URL)
		auth, err := CredOptions(cfg.NATS)
		if err != nil {
			return nil, fmt.Errorf("nats.nkey: %w", err)
		}
		opts = append(append(opts, auth...), tlsOptions(cfg.NATS)...)
	}
	nc, err := nats.Connect(strings.TrimSpace(cfg.NATS.URL), opts...)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", target, err)
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	waitingSince := time.Now()
	lastLog := waitingSince
	for !nc.IsConnected() {
		select {
		case <-ctx.Done():
			nc.Close()
			return nil, ctx.Err()
		case <-t.C:
			if time.Since(lastLog) >= 10*time.Second {
				lastLog = time.Now()
				log.Warn("waiting for nats", "server", target, "waited", time.Since(waitingSince).Round(time.Second).String(), "err", nc.LastError())
			}
		}
	}
	return nc, nil
}

// CredOptions are the nats.go options that log in with n's credentials: nats.creds, nats.nkey,
// nats.user with nats.password, or nats.token, the first one set (none: no options). sentio
// publish and tail pass their --creds and --nkey in an n of their own. Only an nkey seed file can
// fail to load; the error names the file, and callers name the setting it came from.
func CredOptions(n config.NATS) ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case n.Creds != "":
		opts = append(opts, nats.UserCredentials(n.Creds))
	case n.NKey != "":
		o, err := nats.NkeyOptionFromSeed(n.NKey)
		if err != nil {
			return nil, fmt.Errorf("the nkey seed file %s: %w", n.NKey, err)
		}
		opts = append(opts, o)
	case n.User != "":
		opts = append(opts, nats.UserInfo(n.User, n.Password))
	case n.Token != "":
		opts = append(opts, nats.Token(n.Token))
	}
	return opts, nil
}

// tlsOptions turns the TLS settings into nats.go options.
func tlsOptions(n config.NATS) []nats.Option {
	var opts []nats.Option
	if n.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(n.TLS.CA))
	}
	if n.TLS.Cert != "" {
		opts = append(opts, nats.ClientCert(n.TLS.Cert, n.TLS.Key))
	}
	return opts
}
