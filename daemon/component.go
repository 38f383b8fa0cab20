package daemon

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/config"
)

// Component is a part of the pipeline whose life the daemon drives: Start once, Ready polled,
// Drain once on shutdown. The package documentation describes the contract in full.
type Component interface {
	// Name is a short stable identifier (e.g. "pipeline", "asr"), used in logs, /readyz and metrics.
	Name() string
	// Start prepares the component and launches its goroutines, then returns; ctx bounds start-up only.
	Start(ctx context.Context, env *Env) error
	// Ready returns nil when the component can take work, or an error saying what it waits for.
	Ready() error
	// Drain stops taking input, finishes and acks in-flight work, and releases resources before
	// ctx ends; after that it abandons the rest unacked and returns ctx.Err().
	Drain(ctx context.Context) error
}

// Liveness is implemented by a component that can tell it is stuck beyond repair: a call into
// code that cannot be cancelled (whisper.cpp, ONNX Runtime) ran past its deadline. While Alive
// returns an error, the daemon stops feeding the systemd watchdog (WatchdogSec=), so systemd
// restarts it; the component's Ready should fail too, so that /readyz says why. Alive must be
// cheap and safe to call from any goroutine.
type Liveness interface {
	Alive() error
}

// Env is what the daemon gives a component when it starts.
type Env struct {
	// Config is the effective configuration (file, environment, flags). Treat it as read-only.
	Config *config.Config
	// Logger is the process logger tagged with component=<Name>.
	Logger *slog.Logger
	// NATS is the connection to NATS (embedded or external); it reconnects by itself and the
	// daemon drains it after every component has drained.
	NATS *nats.Conn
	// JetStream is the JetStream context on NATS.
	JetStream jetstream.JetStream
	// Metrics registers the component's Prometheus collectors; they are served on /metrics.
	Metrics prometheus.Registerer

	fail func(error)
}

// Fail reports an error the component cannot recover from: the daemon drains every component and
// exits non-zero. It may be called from any goroutine, more than once; the first error wins.
func (e *Env) Fail(err error) {
	if e.fail != nil && err != nil {
		e.fail(err)
	}
}
