package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sentio-health/sentio/config"
)

// configFlags are the flags shared by the commands that load the configuration: --config and
// the overrides that take precedence over the file and the environment.
type configFlags struct {
	file string
	set  []string
}

// shortcuts maps override flags to the keys they set.
var shortcuts = []struct{ flag, key, usage string }{
	{"log-level", "log.level", "log level: debug, info, warn or error (log.level)"},
	{"log-format", "log.format", "log format: auto, text or json (log.format)"},
	{"nats-url", "nats.url", "connect to this NATS server instead of running one embedded (nats.url; sets nats.embedded=false)"},
	{"http-listen", "http.listen", "address of /healthz, /readyz and /metrics; empty disables (http.listen)"},
	{"state-dir", "state_dir", "directory for the embedded NATS store and other state (state_dir)"},
}

func (f *configFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.file, "config", "c", "", "YAML config file (default: $SENTIO_CONFIG, else none: the built-in defaults; SENTIO_* variables apply either way)")
	for _, s := range shortcuts {
		cmd.Flags().String(s.flag, "", s.usage)
	}
	cmd.Flags().StringArrayVar(&f.set, "set", nil, "set any key, e.g. --set asr.threads=4 (repeatable)")
}

// load builds the effective configuration: file, environment, then the flags that were given.
func (f *configFlags) load(cmd *cobra.Command) (*config.Config, error) {
	var ov []config.Override
	for _, s := range shortcuts {
		if fl := cmd.Flags().Lookup(s.flag); fl != nil && fl.Changed {
			ov = append(ov, config.Override{Key: s.key, Value: fl.Value.String(), Flag: "--" + s.flag})
			if s.key == "nats.url" {
				ov = append(ov, config.Override{Key: "nats.embedded", Value: "false", Flag: "--nats-url"})
			}
		}
	}
	for _, kv := range f.set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("flag --set %q: want key=value, e.g. --set asr.threads=4", kv)
		}
		ov = append(ov, config.Override{Key: strings.TrimSpace(k), Value: v, Flag: "--set " + strings.TrimSpace(k)})
	}
	file := f.file
	if file == "" {
		file = os.Getenv("SENTIO_CONFIG")
	}
	c, err := config.Load(file, ov...)
	if err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("invalid configuration:\n%s", indent(err.Error()))}
	}
	return c, nil
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
