package daemon

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// HandleSignals makes the first SIGTERM or SIGINT call cancel (start the graceful drain of
// [Run]) and a second one exit the process at once with status 128+signal, without waiting for
// the drain. Call it once, before [Run].
func HandleSignals(cancel context.CancelFunc, log *slog.Logger) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		first := <-sigs
		log.Info("signal received, draining (send it again to exit at once)", "signal", first.String())
		cancel()
		second := <-sigs
		code := 1
		if s, ok := second.(syscall.Signal); ok {
			code = 128 + int(s)
		}
		log.Error("second signal, exiting without finishing the drain", "signal", second.String(), "exit_status", code)
		os.Exit(code)
	}()
}
