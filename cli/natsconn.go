package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/pflag"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/daemon"
)

// natsFlags are how the client commands (publish, tail) reach NATS.
type natsFlags struct {
	url, creds, nkey, config, stateDir string
}

func (f *natsFlags) add(fl *pflag.FlagSet, user string) {
	fl.StringVar(&f.url, "nats", "", "NATS server URL (default: $NATS_URL, else the daemon's: its embedded server on nats.listen, or nats.url)")
	fl.StringVar(&f.nkey, "nkey", "", "nkey seed file to log in with (default with the daemon's embedded server: <state_dir>/auth/"+user+".nk)")
	fl.StringVar(&f.creds, "creds", "", "NATS credentials file (JWT and nkey seed) to log in with")
	fl.StringVar(&f.config, "config", "", "the daemon's YAML config file, for its NATS server, state_dir and subjects (default: $SENTIO_CONFIG; SENTIO_* variables apply)")
	fl.StringVar(&f.stateDir, "state-dir", "", "the daemon's state_dir, where its embedded server's credentials are")
}

// dial loads the daemon's configuration and connects to its NATS server as user
// (daemon.UserPublisher or daemon.UserSubscriber). Without --nats and $NATS_URL that is the
// embedded server on nats.listen, logged in with user's credentials from state_dir/auth (and
// its certificate trusted), or nats.url with the configured credentials; --nkey or --creds
// replace the credentials.
func (f *natsFlags) dial(name, user string) (*nats.Conn, jetstream.JetStream, *config.Config, error) {
	var ov []config.Override
	if f.stateDir != "" {
		ov = append(ov, config.Override{Key: "state_dir", Value: f.stateDir, Flag: "--state-dir"})
	}
	file := f.config
	if file == "" {
		file = os.Getenv("SENTIO_CONFIG")
	}
	cfg, err := config.Load(file, ov...)
	if err != nil {
		return nil, nil, nil, &exitError{code: 2, err: fmt.Errorf("invalid configuration:\n%s", indent(err.Error()))}
	}
	url := f.url
	if url == "" {
		url = os.Getenv("NATS_URL")
	}
	var opts []nats.Option
	fromConfig := url == ""
	if fromConfig {
		if url, err = daemon.ClientURL(cfg); err != nil {
			return nil, nil, nil, err
		}
		opts = daemon.ClientTLS(cfg)
	}
	switch {
	case f.creds != "" || f.nkey != "":
		auth, err := daemon.CredOptions(config.NATS{Creds: f.creds, NKey: f.nkey})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--nkey: %w", err)
		}
		opts = append(opts, auth...)
	case fromConfig:
		auth, err := daemon.ClientAuth(cfg, user)
		if err != nil {
			return nil, nil, nil, err
		}
		opts = append(opts, auth...)
	}
	opts = append(opts, nats.Name(name), nats.Timeout(5*time.Second), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		target := config.RedactURLs(url)
		if errors.Is(err, nats.ErrAuthorization) {
			return nil, nil, nil, fmt.Errorf("connecting to NATS at %s: %w (sentio's embedded server wants the %s credentials: leave --nats and $NATS_URL unset to use the daemon's, or pass --nkey %s)",
				target, err, user, daemon.CredentialsFile(cfg.StateDir, user))
		}
		return nil, nil, nil, fmt.Errorf("connecting to NATS at %s: %w (is `sentio run` up? set --nats or $NATS_URL)", target, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, nil, err
	}
	return nc, js, cfg, nil
}
