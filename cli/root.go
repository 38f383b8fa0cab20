// Package cli holds sentio's command-line interface: one file per subcommand, each with a
// newXCmd function that builds its command and flags; newRootCmd puts them together.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version and commit are set at link time (see the Makefile).
var (
	version = "dev"
	commit  = "unknown"
)

// newRootCmd builds the sentio command and its subcommands.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "sentio",
		Short:         "Explained sentiment for live medical conversations",
		Long:          "sentio consumes audio from NATS JetStream, transcribes it with whisper.cpp, identifies its language,\nreasons about its sentiment with ONNX Runtime and publishes a label, confidence, rationale and evidence.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newAnalyzeCmd(), newConfigCmd(), newEvalCmd(), newModelsCmd(), newPublishCmd(), newReasonCmd(), newRedactCmd(),
		newRunCmd(), newTailCmd(), newTranscribeCmd(), newVersionCmd())
	return root
}

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Execute runs the command line and returns the process exit code.
func Execute() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "sentio: %v\n", err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}
