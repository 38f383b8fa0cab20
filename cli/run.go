package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/daemon"
)

// componentFactories build the pipeline's parts for `sentio run`, in start order. Files in this
// package add theirs with addComponent from their init functions (see daemon/doc.go).
var componentFactories []daemon.Factory

// addComponent registers a component factory for `sentio run`.
func addComponent(f daemon.Factory) {
	componentFactories = append(componentFactories, f)
}

var runFlags configFlags

var runCmd = &cobra.Command{
	Use:   "run",
	Short: "Run the daemon (embedded NATS with JetStream by default)",
	Long: "Run sentio as a service: start an embedded NATS server with JetStream (or connect to nats.url),\n" +
		"serve /healthz, /readyz and /metrics on http.listen, start the pipeline and report READY=1 to\n" +
		"systemd. The first SIGTERM or SIGINT drains in-flight work within shutdown_timeout and exits 0;\n" +
		"a second one exits at once (status 128+signal). Settings: defaults < --config file < SENTIO_*\n" +
		"environment < flags; see `sentio config docs`.",
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		cfg, err := runFlags.load(cmd)
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

func buildComponents(cfg *config.Config) ([]daemon.Component, error) {
	var comps []daemon.Component
	for _, f := range componentFactories {
		c, err := f(cfg)
		if err != nil {
			return nil, fmt.Errorf("configuring the pipeline: %w", err)
		}
		comps = append(comps, c)
	}
	return comps, nil
}

func init() {
	runFlags.add(runCmd)
	rootCmd.AddCommand(runCmd)
}
