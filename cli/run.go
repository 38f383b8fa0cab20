package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

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
		// Not cmd.Context(): the first signal is handled (and logged) by forceOnSecondSignal alone.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		forceOnSecondSignal(cancel, log)

		comps, err := buildComponents(cfg)
		if err != nil {
			return err
		}
		return daemon.Run(ctx, cfg, log, daemon.Options{Version: version, Commit: commit, Components: comps})
	},
}

// forceOnSecondSignal cancels the run on the first SIGTERM/SIGINT (graceful drain) and exits the
// process at once on the second.
func forceOnSecondSignal(cancel context.CancelFunc, log *slog.Logger) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		first := <-sigs
		log.Info("signal received, draining (send it again to exit at once)", "signal", first.String())
		cancel()
		second := <-sigs
		log.Error("second signal, exiting without finishing the drain", "signal", second.String())
		code := 1
		if s, ok := second.(syscall.Signal); ok {
			code = 128 + int(s)
		}
		os.Exit(code)
	}()
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
