package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sentio-health/sentio/config"
)

// newConfigCmd builds `sentio config` and its subcommands.
func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print, check and document the configuration",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newConfigPrintCmd(), newConfigCheckCmd(), newConfigDocsCmd())
	return cmd
}

func newConfigPrintCmd() *cobra.Command {
	var flags configFlags
	cmd := &cobra.Command{
		Use:   "print",
		Short: "Print the effective configuration (defaults, file, environment, flags) as YAML, secrets redacted",
		Long: "Print the configuration `sentio run` would use with the same file, environment and flags, as YAML\n" +
			"that `--config` reads back. Values that are not defaults carry a comment naming their source.\n" +
			"Secrets (nats.password, nats.token) print as REDACTED.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := flags.load(cmd)
			if err != nil {
				return err
			}
			out, err := c.Redacted().YAML()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	flags.add(cmd)
	return cmd
}

func newConfigCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a config file (with the SENTIO_* environment applied); exit 0 when valid",
		Long: "Validate FILE as `sentio run --config FILE` would: unknown keys, values of the wrong type and values\n" +
			"outside what is allowed are reported with their line, one per line. Exit status 0 means valid, 2 invalid.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := config.Load(args[0]); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("%s is not valid:\n%s", args[0], indent(err.Error()))}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid\n", args[0])
			return nil
		},
	}
}

func newConfigDocsCmd() *cobra.Command {
	var update string
	cmd := &cobra.Command{
		Use:   "docs",
		Short: "Print the configuration reference (Markdown) generated from the config package",
		Long: "Print the configuration reference: every key, its environment variable, type, default, description and\n" +
			"allowed values. With --update README.md, rewrite the reference section of that file in place.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if update == "" {
				docs, err := config.Docs()
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(cmd.OutOrStdout(), docs)
				return err
			}
			old, err := os.ReadFile(update)
			if err != nil {
				return err
			}
			updated, err := config.UpdateReadme(old)
			if err != nil {
				return fmt.Errorf("%s: %w", update, err)
			}
			return os.WriteFile(update, updated, 0o644)
		},
	}
	cmd.Flags().StringVar(&update, "update", "", "rewrite the reference section of this Markdown file (README.md)")
	return cmd
}
