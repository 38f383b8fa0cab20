package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/daemon"
	"github.com/sentio-health/sentio/pipeline"
)

// newRunCmd builds `sentio run`.
func newRunCmd() *cobra.Command {
	var flags configFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the daemon (embedded NATS with JetStream by default)",
		Long: "Run sentio as a service: start an embedded NATS server with JetStream (or connect to nats.url),\n" +
			"serve /healthz, /readyz and /metrics on http.listen, start the pipeline and report READY=1 to\n" +
			"systemd. The first SIGTERM or SIGINT drains in-flight work within shutdown_timeout and exits 0;\n" +
			"a second one exits at once (status 128+signal). Settings: defaults < --config file < SENTIO_*\n" +
			"environment < flags; see `sentio config docs`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := flags.load(cmd)
			if err != nil {
				return err
			}
			log := daemon.NewLogger(cfg.Log, os.Stderr)
			// Not cmd.Context(): daemon.HandleSignals handles (and logs) the signals.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			daemon.HandleSignals(cancel, log)

			comps, err := buildComponents(cfg)
			if err != nil {
				return err
			}
			return daemon.Run(ctx, cfg, log, daemon.Options{Version: version, Commit: commit, Components: comps})
		},
	}
	flags.add(cmd)
	return cmd
}

// buildComponents builds the daemon's components in start order: the pipeline (segment → asr →
// langid → reason → publish over JetStream) is the only one. pipeline.New does no I/O; Start does.
func buildComponents(cfg *config.Config) ([]daemon.Component, error) {
	p, err := pipeline.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("configuring the pipeline: %w", err)
	}
	return []daemon.Component{p}, nil
}
