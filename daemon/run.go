package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/console"
)

// Options are what [Run] needs besides the configuration.
type Options struct {
	// Version and Commit identify the build (sentio_build_info, the starting log line).
	Version, Commit string
	// Components are started in this order and drained in reverse.
	Components []Component
}

// ErrDrainTimeout is wrapped by the error [Run] returns when in-flight work did not finish within
// shutdown_timeout.
var ErrDrainTimeout = errors.New("drain did not finish within shutdown_timeout")

// Run runs the daemon until ctx ends (the first SIGTERM or SIGINT: the caller cancels ctx) or a
// component calls [Env.Fail], then drains: readiness drops, systemd hears STOPPING=1, components
// drain in reverse order within cfg.ShutdownTimeout, the NATS connection drains, the embedded
// server stops. It returns nil after a clean drain, an error wrapping [ErrDrainTimeout] when the
// deadline cut the drain short, or the error that stopped it (start-up failure, Env.Fail).
//
// Forcing an exit on a second signal is the caller's job (see cli/run.go): Run never calls
// os.Exit.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) error {
	began := time.Now()
	err := run(ctx, cfg, log, opts, began)
	if err != nil {
		log.Error("stopped", "err", err, "uptime", time.Since(began).Round(time.Millisecond).String())
	} else {
		log.Info("stopped", "uptime", time.Since(began).Round(time.Millisecond).String())
	}
	return err
}

// state is the daemon's view of itself, shared with /readyz and the metrics.
type state struct {
	all      []Component
	nc       atomic.Pointer[nats.Conn] // set once connected
	draining atomic.Bool

	mu      sync.Mutex
	running []Component // started successfully, in start order
}

func (d *state) markStarted(c Component) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.running = append(d.running, c)
}

func (d *state) started() []Component {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Component(nil), d.running...)
}

// readiness checks NATS and every component.
func (d *state) readiness() readiness {
	r := readiness{ok: true}
	add := func(ok bool, line string) {
		if ok {
			r.lines = append(r.lines, "[+]"+line)
		} else {
			r.ok = false
			r.lines = append(r.lines, "[-]"+line)
		}
	}
	if d.draining.Load() {
		add(false, "draining: stopping, taking no new work")
	}
	if nc := d.nc.Load(); nc != nil && nc.IsConnected() {
		add(true, "nats ok")
	} else if nc != nil {
		add(false, "nats: "+connStatus(nc.Status()))
	} else {
		add(false, "nats: connecting")
	}
	started := map[Component]bool{}
	for _, c := range d.started() {
		started[c] = true
	}
	for _, c := range d.all {
		switch {
		case !started[c]:
			add(false, c.Name()+": not started")
		case c.Ready() != nil:
			add(false, c.Name()+": "+c.Ready().Error())
		default:
			add(true, c.Name()+" ok")
		}
	}
	return r
}

// alive is the first error of a started component's [Liveness], nil when none is stuck.
func (d *state) alive() error {
	for _, c := range d.started() {
		if l, ok := c.(Liveness); ok {
			if err := l.Alive(); err != nil {
				return fmt.Errorf("%s: %w", c.Name(), err)
			}
		}
	}
	return nil
}

func connStatus(s nats.Status) string {
	switch s {
	case nats.RECONNECTING:
		return "reconnecting"
	case nats.CLOSED:
		return "closed"
	case nats.DRAINING_SUBS, nats.DRAINING_PUBS:
		return "draining"
	case nats.CONNECTING:
		return "connecting"
	}
	return "disconnected"
}

func run(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options, began time.Time) error {
	d := &state{all: opts.Components}
	n := notifier{log: log}
	names := make([]string, len(opts.Components))
	for i, c := range opts.Components {
		names[i] = c.Name()
	}
	target := "embedded"
	if !cfg.NATS.Embedded {
		target = config.RedactURLs(cfg.NATS.URL)
	}
	log.Info("starting", "version", opts.Version, "commit", opts.Commit, "go", runtime.Version(),
		"pid", os.Getpid(), "nats", target, "state_dir", cfg.StateDir, "components", names)
	n.send("STATUS=starting")
	stopWatchdog := make(chan struct{})
	defer close(stopWatchdog)
	if iv := n.watchdog(stopWatchdog, d.alive); iv > 0 {
		log.Info("systemd watchdog enabled", "interval", iv.String())
	}

	// Health and metrics first, so that operators can see why sentio is not ready yet.
	reg := newRegistry(opts)
	registerLifecycle(reg, d)
	var con *console.Console
	if cfg.HTTP.Listen != "" {
		var handler http.Handler
		if cfg.HTTP.Console {
			con = newConsole(cfg, d, reg, opts, log)
			handler = con.Handler()
		}
		srv, addr, err := startHTTP(cfg.HTTP.Listen, d, reg, log, handler)
		if err != nil {
			return err
		}
		defer stopHTTP(srv)
		log.Info("http listening", "addr", addr.String())
		if con != nil {
			defer con.Close() // before the server stops: it ends the browsers' event streams
			log.Info("console serving", "url", "http://"+addr.String()+console.Prefix, "token_required", cfg.HTTP.ConsoleToken != "")
		}
	}

	var ns *embedded
	if cfg.NATS.Embedded {
		var err error
		if ns, err = startEmbedded(cfg, log); err != nil {
			return err
		}
		defer func() {
			ns.Shutdown()
			ns.WaitForShutdown()
		}()
	}
	nc, err := connect(ctx, cfg, ns, log)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting for NATS: nothing to drain
		}
		return err
	}
	defer nc.Close()
	d.nc.Store(nc)
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if ns != nil {
		credentials := "none (nats.embedded_auth is false)"
		if ns.daemon != nil {
			credentials = CredentialsDir(cfg.StateDir)
		}
		log.Info("nats ready", "mode", "embedded", "listen", ns.ClientURL(), "store", ns.StoreDir(), "credentials", credentials)
	} else {
		log.Info("nats ready", "mode", "external", "server", nc.ConnectedUrlRedacted())
	}

	failCh := make(chan error, 1)
	fail := func(err error) {
		select {
		case failCh <- err:
		default:
		}
	}
	for _, c := range opts.Components {
		env := &Env{Config: cfg, Logger: log.With("component", c.Name()), NATS: nc, JetStream: js, Metrics: reg, fail: fail}
		t0 := time.Now()
		if err := c.Start(ctx, env); err != nil {
			if ctx.Err() != nil {
				return d.shutdown(cfg, nc, log, n, "signal during start-up", nil)
			}
			return d.shutdown(cfg, nc, log, n, "start-up failed", fmt.Errorf("starting %s: %w", c.Name(), err))
		}
		d.markStarted(c)
		log.Info("component started", "component", c.Name(), "took", time.Since(t0).Round(time.Millisecond).String())
	}

	if reason, cause := d.waitReady(ctx, failCh, log); reason != "" {
		return d.shutdown(cfg, nc, log, n, reason, cause)
	}
	if ns != nil {
		// Once the components made the results stream, so that the copy starts at once.
		if err := ns.setupSubscribers(ctx, cfg); err != nil {
			log.Error("subscribers cannot read the results stream", "err", err)
		}
	}
	if con != nil {
		con.Start(js) // once the components made the streams it reads
	}
	log.Info("ready", "startup", time.Since(began).Round(time.Millisecond).String())
	n.send("READY=1\nSTATUS=ready")

	select {
	case <-ctx.Done():
		return d.shutdown(cfg, nc, log, n, "signal", nil)
	case err := <-failCh:
		return d.shutdown(cfg, nc, log, n, "component failed", err)
	}
}

// waitReady polls readiness until everything is ready; it returns a reason (and error) when it
// has to stop first.
func (d *state) waitReady(ctx context.Context, failCh chan error, log *slog.Logger) (string, error) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	lastLog := time.Now()
	for {
		r := d.readiness()
		if r.ok {
			return "", nil
		}
		if time.Since(lastLog) >= 10*time.Second {
			lastLog = time.Now()
			log.Warn("waiting to be ready", "checks", r.lines)
		}
		select {
		case <-ctx.Done():
			return "signal during start-up", nil
		case err := <-failCh:
			return "component failed", err
		case <-t.C:
		}
	}
}

// shutdown drains the started components in reverse order, then the NATS connection, within
// shutdown_timeout.
func (d *state) shutdown(cfg *config.Config, nc *nats.Conn, log *slog.Logger, n notifier, reason string, cause error) error {
	d.draining.Store(true)
	n.send("STOPPING=1\nSTATUS=draining")
	attrs := []any{"reason", reason, "timeout", cfg.ShutdownTimeout.String()}
	if cause != nil {
		attrs = append(attrs, "err", cause)
	}
	log.Info("draining", attrs...)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	started := d.started()
	var timedOut []string
	var errs []error
	for i := len(started) - 1; i >= 0; i-- {
		c := started[i]
		t0 := time.Now()
		err := c.Drain(ctx)
		took := time.Since(t0).Round(time.Millisecond).String()
		switch {
		case err == nil:
			log.Info("component drained", "component", c.Name(), "took", took)
		case ctx.Err() != nil:
			timedOut = append(timedOut, c.Name())
			log.Error("component drain cut short", "component", c.Name(), "took", took, "err", err)
		default:
			errs = append(errs, fmt.Errorf("draining %s: %w", c.Name(), err))
			log.Error("component drain failed", "component", c.Name(), "took", took, "err", err)
		}
	}
	if err := nc.Drain(); err == nil {
		for !nc.IsClosed() && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	nc.Close()
	if ctx.Err() != nil && len(timedOut) == 0 {
		timedOut = append(timedOut, "nats")
	}
	if cause != nil {
		errs = append([]error{cause}, errs...)
	}
	if len(timedOut) > 0 {
		errs = append(errs, fmt.Errorf("%w (%s): %v; unacked work will be redelivered", ErrDrainTimeout, cfg.ShutdownTimeout, timedOut))
	}
	return errors.Join(errs...)
}
