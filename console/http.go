package console

import (
	"crypto/subtle"
	"embed"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// Prefix is the path the console is served under.
const Prefix = "/console/"

//go:embed assets
var assets embed.FS

// writeTimeout bounds one write to a browser's event stream: a browser that stops reading is
// disconnected after it, instead of holding its handler forever.
const writeTimeout = 30 * time.Second

// Handler serves the console under [Prefix]: the page (index.html, app.js, app.css: public,
// they carry no data) and the data, which needs the bearer token when one is configured:
// GET api/snapshot (the window as JSON) and GET api/events (server-sent events: a snapshot,
// then every change).
func (c *Console) Handler() http.Handler {
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Prefix, http.StripPrefix(Prefix, http.FileServerFS(static)))
	mux.Handle("GET "+Prefix+"api/snapshot", c.auth(http.HandlerFunc(c.serveSnapshot)))
	mux.Handle("GET "+Prefix+"api/events", c.auth(http.HandlerFunc(c.serveEvents)))
	return secureHeaders(mux)
}

// secureHeaders forbids everything the page does not need: scripts, styles and connections
// from elsewhere (or inline), framing, sniffing and referrers.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if strings.Contains(r.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// auth lets a request through when no token is configured or it carries "Authorization:
// Bearer <token>" (compared in constant time); otherwise it answers 401.
func (c *Console) auth(next http.Handler) http.Handler {
	want := []byte(c.opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(want) > 0 {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="sentio console"`)
				http.Error(w, "the console's data needs the token of http.console_token: send Authorization: Bearer <token>", http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (c *Console) serveSnapshot(w http.ResponseWriter, _ *http.Request) {
	data := c.hub.snapshotJSON(c.status())
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
}

// serveEvents streams server-sent events: the snapshot, then every change, status figures every
// StatusEvery and a comment every KeepAlive, until the browser goes, the hub drops it for being
// too slow, or the console closes.
func (c *Console) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // a proxy in front must not buffer the stream
	cl, first := c.hub.subscribe(c.status())
	defer c.hub.unsubscribe(cl)
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(first) {
		return
	}
	ka := time.NewTicker(KeepAlive)
	defer ka.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.done:
			return
		case <-cl.gone:
			return
		case f := <-cl.frames:
			if !write(f) {
				return
			}
		case <-ka.C:
			if !write([]byte(": keep-alive\n\n")) {
				return
			}
		}
	}
}
