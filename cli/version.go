package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"text/tabwriter"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/spf13/cobra"

	"github.com/sentio-health/sentio/reasoning"
)

// newVersionCmd builds `sentio version`.
func newVersionCmd() *cobra.Command {
	var flags configFlags
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the versions of sentio and of the libraries it runs on",
		Long: "Print sentio's version and commit, the Go version, and the versions of whisper.cpp (linked in with\n" +
			"-tags whisper), ONNX Runtime (loaded from reasoning.ort_library), lingua-go and the embedded nats-server.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := flags.load(cmd)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintf(w, "sentio\t%s (commit %s)\n", version, commit)
			fmt.Fprintf(w, "go\t%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(w, "whisper.cpp\t%s\n", whisperVersion())
			fmt.Fprintf(w, "onnxruntime\t%s\n", ortVersion(cfg.Reasoning.ORTLibrary))
			fmt.Fprintf(w, "lingua-go\t%s\n", moduleVersion("github.com/pemistahl/lingua-go"))
			fmt.Fprintf(w, "nats-server\t%s (embedded)\n", server.VERSION)
			return w.Flush()
		},
	}
	flags.add(cmd)
	return cmd
}

// moduleVersion reports the version of a Go module linked into this binary.
func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build information)"
	}
	for _, m := range info.Deps {
		if m.Path == path {
			if m.Replace != nil {
				return m.Replace.Version + " (replaced)"
			}
			return m.Version
		}
	}
	return "not linked into this build"
}

// ortVersion loads ONNX Runtime from lib as the daemon does (reasoning.ORTVersion keeps the
// library's load-time stderr noise out of the output) and reports its version.
func ortVersion(lib string) string {
	v, loaded, err := reasoning.ORTVersion(lib)
	if err != nil {
		return fmt.Sprintf("unavailable: %v (set reasoning.ort_library or SENTIO_REASONING_ORT_LIBRARY)", err)
	}
	return v + " (" + loaded + ")"
}
