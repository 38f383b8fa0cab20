package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// startHTTP serves /healthz, /readyz and /metrics on addr, and the operator console under
// /console/ when console is not nil; it returns the server and the address it actually listens
// on (addr may use port 0).
func startHTTP(addr string, d *state, reg *prometheus.Registry, log *slog.Logger, console http.Handler) (*http.Server, net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("http.listen %s: %w (set http.listen or SENTIO_HTTP_LISTEN to a free address, or empty to disable)", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		r := d.readiness()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !r.ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprint(w, r.String())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelError),
		Registry:          reg,
		ErrorHandling:     promhttp.ContinueOnError, // one failing collector must not hide the rest
		EnableOpenMetrics: true,
	}))
	if console != nil {
		mux.Handle("/console/", console)
		mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	return srv, ln.Addr(), nil
}

// readiness is the state /readyz reports: one line per check, Kubernetes style.
type readiness struct {
	ok    bool
	lines []string
}

func (r readiness) String() string {
	var b strings.Builder
	for _, l := range r.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if r.ok {
		b.WriteString("ready\n")
	} else {
		b.WriteString("not ready\n")
	}
	return b.String()
}

func stopHTTP(srv *http.Server) {
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}
