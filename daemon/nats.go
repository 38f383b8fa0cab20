package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/sentio-health/sentio/config"
)

// startEmbedded runs the embedded NATS server with JetStream, its store under state_dir/nats,
// listening on nats.listen (port 0 picks a free port).
func startEmbedded(cfg *config.Config, log *slog.Logger) (*server.Server, error) {
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
	opts := &server.Options{
		ServerName: "sentio",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   store,
		NoSigs:     true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
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
	return s, nil
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

// connect opens the client connection: in-process to the embedded server, or to nats.url with
// the configured credentials and TLS. It retries forever, logging each disconnect and reconnect,
// and waits (until ctx ends) for the first connection.
func connect(ctx context.Context, cfg *config.Config, embedded *server.Server, log *slog.Logger) (*nats.Conn, error) {
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
		opts = append(opts, nats.InProcessServer(embedded))
	} else {
		target = redactURLs(cfg.NATS.URL)
		auth, err := authOptions(cfg.NATS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, auth...)
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

// authOptions turns the credentials and TLS settings into nats.go options.
func authOptions(n config.NATS) ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case n.Creds != "":
		opts = append(opts, nats.UserCredentials(n.Creds))
	case n.NKey != "":
		o, err := nats.NkeyOptionFromSeed(n.NKey)
		if err != nil {
			return nil, fmt.Errorf("nats.nkey %s: %w", n.NKey, err)
		}
		opts = append(opts, o)
	case n.User != "":
		opts = append(opts, nats.UserInfo(n.User, n.Password))
	case n.Token != "":
		opts = append(opts, nats.Token(n.Token))
	}
	if n.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(n.TLS.CA))
	}
	if n.TLS.Cert != "" {
		opts = append(opts, nats.ClientCert(n.TLS.Cert, n.TLS.Key))
	}
	return opts, nil
}

// redactURLs removes user information (passwords, tokens) from a comma-separated URL list.
func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if u, err := url.Parse(p); err == nil && u.User != nil {
			u.User = url.User("REDACTED")
			p = u.String()
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}
