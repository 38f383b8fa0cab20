package daemon

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/console"
)

// newConsole builds the operator console (http.console) on the daemon's readiness and metrics.
func newConsole(cfg *config.Config, d *state, reg *prometheus.Registry, opts Options, log *slog.Logger) *console.Console {
	return console.New(console.Options{
		Token: cfg.HTTP.ConsoleToken,
		NATS:  cfg.NATS,
		Health: func() (bool, []string) {
			r := d.readiness()
			return r.ok, r.lines
		},
		Metrics: reg,
		Version: opts.Version,
		Log:     log.With("component", "console"),
	})
}
