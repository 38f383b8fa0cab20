package cli

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/sentio-health/sentio/asr/fetch"
)

// newModelsCmd builds `sentio models` and its subcommands.
func newModelsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List and download official whisper.cpp models and the Silero VAD model",
	}
	cmd.AddCommand(newModelsListCmd(), newModelsFetchCmd())
	return cmd
}

func newModelsListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the models `sentio models fetch` knows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tSIZE\tFILE\tCONFIG\tABOUT")
			for _, m := range fetch.Catalog {
				fmt.Fprintf(w, "%s\t%s\t%s/%s\t%s\t%s\n", m.Name, humanBytes(m.Size), m.Dir, m.File, m.ConfigKey, m.About)
			}
			return w.Flush()
		},
	}
}

func newModelsFetchCmd() *cobra.Command {
	var flags struct {
		dir, baseURL, sha string
		size              int64
		force, quiet      bool
	}
	cmd := &cobra.Command{
		Use:   "fetch NAME",
		Short: "Download a model, verify its size and SHA-256, and install it atomically",
		Long: "Download an official whisper.cpp ggml model (tiny, tiny.en, base, base.en, small, medium, large-v3,\n" +
			"large-v3-turbo) or the Silero VAD model (silero-vad) from Hugging Face, with a progress bar.\n" +
			"The file is verified against the size and SHA-256 in sentio's catalog before it is renamed\n" +
			"into place; an interrupted download resumes when the command is run again. Other files of\n" +
			"ggerganov/whisper.cpp (e.g. large-v3-q5_0) can be fetched with --sha256 from their Hugging\n" +
			"Face page. SENTIO_MODELS_BASE_URL (or --base-url) points at a mirror.",
		Example: "  sentio models fetch base\n  sentio models fetch silero-vad\n  sentio models fetch large-v3-turbo --dir /var/lib/sentio/models",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := flags
			m, err := fetch.Lookup(args[0])
			if err != nil {
				if f.sha == "" {
					return &exitError{code: 2, err: fmt.Errorf("%w; to fetch another file of ggerganov/whisper.cpp (e.g. large-v3-q5_0), give its SHA-256 with --sha256", err)}
				}
				if m, err = fetch.Custom(args[0], f.sha, f.size); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			if f.baseURL == "" {
				f.baseURL = os.Getenv("SENTIO_MODELS_BASE_URL")
			}
			opt := fetch.Options{Dir: f.dir, BaseURL: f.baseURL, SHA256: f.sha, Force: f.force}
			if !f.quiet && isatty.IsTerminal(os.Stderr.Fd()) {
				opt.Progress = os.Stderr
			}
			if !f.quiet {
				fmt.Fprintf(cmd.ErrOrStderr(), "fetching %s (%s) from %s\n", m.Name, humanBytes(m.Size), m.URL(f.baseURL))
			}
			res, err := fetch.Fetch(cmd.Context(), m, opt)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if res.AlreadyPresent {
				fmt.Fprintf(out, "%s is already present and verified\n", res.Path)
			} else {
				fmt.Fprintf(out, "installed %s (%s, SHA-256 verified)\n", res.Path, humanBytes(m.Size))
			}
			fmt.Fprintf(out, "use it with: --set %s=%s (or %s: %s in the config file)\n", m.ConfigKey, res.Path, m.ConfigKey, res.Path)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&flags.dir, "dir", "", "directory to save into (default models/whisper, or models/vad for silero-vad)")
	fl.StringVar(&flags.baseURL, "base-url", "", "download from this URL prefix instead of Hugging Face (env SENTIO_MODELS_BASE_URL)")
	fl.StringVar(&flags.sha, "sha256", "", "expected SHA-256 (overrides the catalog; required for models outside it)")
	fl.Int64Var(&flags.size, "size", 0, "expected size in bytes, for models outside the catalog (0: take the server's)")
	fl.BoolVar(&flags.force, "force", false, "download again even if a verified file is present")
	fl.BoolVarP(&flags.quiet, "quiet", "q", false, "no progress output")
	return cmd
}

// humanBytes prints a size the way people read it.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	case n > 0:
		return fmt.Sprintf("%d B", n)
	}
	return "unknown size"
}
