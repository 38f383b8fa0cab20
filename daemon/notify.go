package daemon

import (
	"log/slog"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// notifier speaks systemd's notify protocol (NOTIFY_SOCKET); without a socket it does nothing.
type notifier struct {
	log *slog.Logger
}

// send sends one or more newline-separated assignments, e.g. "READY=1\nSTATUS=ready".
func (n notifier) send(state string) {
	if _, err := sd.SdNotify(false, state); err != nil {
		n.log.Warn("systemd notify failed", "state", state, "err", err)
	}
}

// watchdog sends WATCHDOG=1 at half the interval systemd asked for (WatchdogSec= sets
// WATCHDOG_USEC) until stop is closed, except while alive returns an error: then systemd,
// missing the pings, restarts the process. It returns the interval, 0 when no watchdog is
// configured.
func (n notifier) watchdog(stop <-chan struct{}, alive func() error) time.Duration {
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil {
		n.log.Warn("systemd watchdog settings unreadable", "err", err)
		return 0
	}
	if interval <= 0 {
		return 0
	}
	go func() {
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		starved := false
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if err := alive(); err != nil {
				if !starved {
					n.log.Warn("not feeding the systemd watchdog: systemd restarts sentio unless this clears within the watchdog interval",
						"interval", interval.String(), "err", err)
					starved = true
				}
				continue
			}
			if starved {
				n.log.Info("feeding the systemd watchdog again")
				starved = false
			}
			n.send(sd.SdNotifyWatchdog)
		}
	}()
	return interval
}
