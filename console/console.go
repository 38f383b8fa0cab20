package console

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
)

// Options are what a [Console] needs from the daemon.
type Options struct {
	// Token is the bearer token the data endpoints require; empty requires none (allowed by the
	// configuration only on a loopback listener).
	Token string
	// NATS names the results and DLQ streams and subjects (bus.NamesOf fills in defaults).
	NATS config.NATS
	// Health reports readiness as /readyz does: ok, and one line per check. Nil reports
	// nothing.
	Health func() (ok bool, checks []string)
	// Metrics is the daemon's Prometheus registry, read for the throughput figures. Nil shows
	// none.
	Metrics prometheus.Gatherer
	// Version is the daemon's version.
	Version string
	// Log is the logger; nil discards.
	Log *slog.Logger
}

// Console serves the operator console: its page and data under /console/ ([Console.Handler])
// and the feed from JetStream that fills it ([Console.Start]).
type Console struct {
	opts  Options
	log   *slog.Logger
	hub   *hub
	names bus.Names

	done      chan struct{} // closed by Close: event streams end
	closeOnce sync.Once
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// New returns a console that serves its page at once and data once [Console.Start] runs.
func New(opts Options) *Console {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Console{opts: opts, log: log, hub: newHub(log), names: bus.NamesOf(opts.NATS), done: make(chan struct{}), cancel: func() {}}
}

// Start follows the results stream (results and summaries) and the DLQ stream from [History]
// ago, and sends the status figures every [StatusEvery], until Close. It returns at once.
func (c *Console) Start(js jetstream.JetStream) {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	n := c.names
	c.wg.Add(3)
	go func() {
		defer c.wg.Done()
		c.follow(ctx, js, n.ResultStream, n.ResultSubject+".>", false, c.onResult)
	}()
	go func() {
		defer c.wg.Done()
		c.follow(ctx, js, n.DLQStream, n.DLQSubject+".>", true, c.onDLQ)
	}()
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(StatusEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if c.hub.clientCount() > 0 {
					c.hub.status(c.status())
				}
			}
		}
	}()
}

// Close stops the feed and ends every event stream; the page stays served.
func (c *Console) Close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.cancel()
		c.wg.Wait()
	})
}

// status takes the figures that do not depend on the window: health and metrics.
func (c *Console) status() Status {
	st := Status{Time: time.Now(), Version: c.opts.Version, Metrics: gather(c.opts.Metrics)}
	if c.opts.Health != nil {
		st.Ready, st.Checks = c.opts.Health()
	}
	return st
}
