package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"text/tabwriter"

	"github.com/nats-io/nats-server/v2/server"
	ort "github.com/yalue/onnxruntime_go"
	"golang.org/x/sys/unix"

	"github.com/spf13/cobra"
)

var versionFlags configFlags

var versionCmd = &cobra.Command{
	Use:   "version",
	Short: "Print the versions of sentio and of the libraries it runs on",
	Long: "Print sentio's version and commit, the Go version, and the versions of whisper.cpp (linked in with\n" +
		"-tags whisper), ONNX Runtime (loaded from reasoning.ort_library), lingua-go and the embedded nats-server.",
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		cfg, err := versionFlags.load(cmd)
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

// ortVersion loads ONNX Runtime from lib and asks its version, keeping the library's load-time
// stderr noise (Debian's build prints schema registration errors) out of the output.
func ortVersion(lib string) string {
	if ort.IsInitialized() {
		return ort.GetVersion() + " (" + lib + ")"
	}
	ort.SetSharedLibraryPath(lib)
	var err error
	quietStderr(func() { err = ort.InitializeEnvironment() })
	if err != nil {
		return fmt.Sprintf("unavailable: %v (set reasoning.ort_library or SENTIO_REASONING_ORT_LIBRARY)", err)
	}
	defer ort.DestroyEnvironment()
	return ort.GetVersion() + " (" + lib + ")"
}

// quietStderr runs f with file descriptor 2 pointing at /dev/null.
func quietStderr(f func()) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		f()
		return
	}
	defer null.Close()
	saved, err := unix.Dup(2)
	if err != nil {
		f()
		return
	}
	defer unix.Close(saved)
	if unix.Dup2(int(null.Fd()), 2) != nil {
		f()
		return
	}
	defer unix.Dup2(saved, 2)
	f()
}

func init() {
	versionFlags.add(versionCmd)
	rootCmd.AddCommand(versionCmd)
}
