package console

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

const testToken = "0123456789abcdef-test"

// sseEvent is one server-sent event read by a test.
type sseEvent struct {
	name string
	data string
}

// openEvents opens api/events with the token and returns a channel of its events.
func openEvents(t *testing.T, base, token string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", base+Prefix+"api/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %s, %q", res.Status, res.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 64)
	go func() {
		defer res.Body.Close()
		defer close(ch)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return ch
}

// next returns the next event named name (skipping status events), failing after timeout.
func next(t *testing.T, ch <-chan sseEvent, name string, timeout time.Duration) sseEvent {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("event stream ended while waiting for %q", name)
			}
			if ev.name == "status" && name != "status" {
				continue
			}
			if ev.name != name {
				t.Fatalf("event %q (%s); want %q", ev.name, ev.data, name)
			}
			return ev
		case <-deadline:
			t.Fatalf("no %q event within %s", name, timeout)
		}
	}
}

func TestDataNeedsTheToken(t *testing.T) {
	c := New(Options{Token: testToken})
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(c.Close)
	for _, tc := range []struct {
		path, auth string
		want       int
	}{
		{"api/events", "", 401},
		{"api/snapshot", "", 401},
		{"api/snapshot", "Bearer wrong-token-0123456789", 401},
		{"api/snapshot", "Basic " + testToken, 401},
		{"api/snapshot", "Bearer " + testToken, 200},
		{"", "", 200}, // the page: no data in it
		{"app.js", "", 200},
		{"app.css", "", 200},
	} {
		req, _ := http.NewRequest("GET", srv.URL+Prefix+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("GET %s with %q: %d; want %d (%s)", tc.path, tc.auth, res.StatusCode, tc.want, body)
		}
		if res.StatusCode == 401 && !strings.Contains(string(body), "http.console_token") {
			t.Errorf("401 body %q does not say which token", body)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", tc.path, csp)
		}
	}
}

func TestNoTokenConfiguredLetsEveryoneIn(t *testing.T) {
	c := New(Options{})
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(c.Close)
	res, err := http.Get(srv.URL + Prefix + "api/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var snap snapshot
	if err := json.NewDecoder(res.Body).Decode(&snap); err != nil || res.StatusCode != 200 {
		t.Fatalf("%s: %v", res.Status, err)
	}
	if snap.Calls == nil || snap.DLQ == nil {
		t.Errorf("empty snapshot %+v: want empty lists, not null", snap)
	}
}

// The console follows the results and DLQ streams of a real JetStream server, as the daemon
// sets them up: a browser gets the snapshot, then each result, summary and reject as it is
// stored, and the figures.
func TestFeedFromJetStream(t *testing.T) {
	srv := testenv.RunJetStream(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	ctx := context.Background()
	cfg := config.Defaults().NATS
	if _, err := bus.Setup(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	// One result from before the console starts: it is in the snapshot.
	publishResult(t, js, result("call-a", "u1", 0, "agent", "I am happy", "positive"))

	reg := prometheus.NewRegistry()
	published := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sentio_pipeline_results_published_total"}, []string{"label"})
	reg.MustRegister(published)
	published.WithLabelValues("positive").Add(3)
	c := New(Options{Token: testToken, NATS: cfg, Metrics: reg, Version: "v-test",
		Health: func() (bool, []string) { return true, []string{"[+]nats ok"} }})
	c.Start(js)
	t.Cleanup(c.Close)
	hs := httptest.NewServer(c.Handler())
	t.Cleanup(hs.Close)

	testenv.Eventually(t, 10*time.Second, "the earlier result in the window", func() bool {
		return len(getSnapshot(t, hs.URL).Calls) == 1
	})
	var snap snapshot
	mustDecode(t, next(t, openEvents(t, hs.URL, testToken), "snapshot", 5*time.Second), &snap)
	if got := snap.Calls[0]; got.ID != "call-a" || len(got.Results) != 1 || got.Results[0].Transcript != "I am happy" {
		t.Fatalf("snapshot call %+v", got)
	}
	if snap.Limits.Utterances != MaxUtterances || snap.Limits.DLQ != MaxDLQ {
		t.Errorf("snapshot limits %+v", snap.Limits)
	}
	if st := snap.Status; !st.Ready || st.Version != "v-test" || st.Metrics.ResultsPublished["positive"] != 3 || st.ResultsPerMinute != 1 {
		t.Errorf("snapshot status %+v", st)
	}

	events := openEvents(t, hs.URL, testToken)
	next(t, events, "snapshot", 5*time.Second)
	publishResult(t, js, result("call-a", "u2", 2000, "customer", "this hurts", "negative"))
	var re resultEvent
	mustDecode(t, next(t, events, "result", 10*time.Second), &re)
	if re.Result.UtteranceID != "u2" || re.Result.Label != "negative" || re.Updated.IsZero() {
		t.Errorf("result event %+v", re)
	}

	sum := wire.Summary{SchemaVersion: "1", Kind: "summary", CallID: "call-a", Utterances: 2, DurationMS: 3000}
	data, _ := json.Marshal(sum)
	if _, err := js.Publish(ctx, wire.SummarySubject(cfg.ResultSubject, "call-a"), data); err != nil {
		t.Fatal(err)
	}
	var se summaryEvent
	mustDecode(t, next(t, events, "summary", 10*time.Second), &se)
	if se.Summary.CallID != "call-a" || se.Summary.Utterances != 2 {
		t.Errorf("summary event %+v", se.Summary)
	}

	b := bus.New(js, cfg, slog.New(slog.DiscardHandler))
	audio := []byte("RIFF not really audio")
	if err := b.PublishDLQ(ctx, bus.DLQEntry{Subject: "sentio.audio.3.call-b", Data: audio, Code: wire.ReasonNotAudio,
		Reason: "not a WAV file", Stage: "segment", Delivered: 1}); err != nil {
		t.Fatal(err)
	}
	ev := next(t, events, "dlq", 10*time.Second)
	var e DLQEntry
	mustDecode(t, ev, &e)
	if e.CallID != "call-b" || e.Code != wire.ReasonNotAudio || e.Reason != "not a WAV file" || e.Stage != "segment" ||
		e.Subject != "sentio.audio.call-b" || e.Delivered != "1" || e.Seq == 0 {
		t.Errorf("dlq event %+v", e)
	}
	if strings.Contains(ev.data, "RIFF") {
		t.Errorf("the DLQ event carries the rejected data: %s", ev.data)
	}

	var st Status
	mustDecode(t, next(t, events, "status", 3*StatusEvery), &st)
	if st.Calls != 1 || st.CallsInProgress != 0 || st.DLQ != 1 || st.ResultsPerMinute != 2 {
		t.Errorf("status %+v", st)
	}
}

// A browser that does not read its events is disconnected once ClientBuffer events wait for
// it; the feed and the other browsers go on.
func TestSlowClientIsDisconnected(t *testing.T) {
	log := &testenv.LogBuffer{}
	h := newHub(slog.New(slog.NewJSONHandler(log, nil)))
	slow, _ := h.subscribe(Status{})
	fast, _ := h.subscribe(Status{})
	got := make(chan struct{})
	go func() {
		for {
			select {
			case <-fast.frames:
				got <- struct{}{}
			case <-fast.gone:
				return
			}
		}
	}()
	n := ClientBuffer + 10
	for i := range n {
		fed := make(chan struct{})
		go func() { // the feed never blocks on a client
			defer close(fed)
			h.result(result("call-s", fmt.Sprintf("u%d", i), int64(i)*1000, "agent", "hello", "neutral"), time.Now())
		}()
		select {
		case <-fed:
		case <-time.After(5 * time.Second):
			t.Fatalf("the feed blocked at result %d", i)
		}
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatalf("the reading client did not get result %d", i)
		}
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("the slow client is still subscribed")
	}
	if h.clientCount() != 1 {
		t.Fatalf("%d clients; want the fast one", h.clientCount())
	}
	h.unsubscribe(fast)
	if !strings.Contains(log.String(), "console client too slow") {
		t.Errorf("no log line about the slow client: %s", log.String())
	}
}

func TestWindowBounds(t *testing.T) {
	w := newWindow()
	t0 := time.Now()
	for i := range MaxCalls {
		w.addResult(result(fmt.Sprintf("c%d", i), "u", 0, "agent", "x", "neutral"), t0.Add(time.Duration(i)*time.Second))
	}
	w.addSummary(&wire.Summary{CallID: "c5"}, t0.Add(time.Hour)) // ended, though updated last
	if ev := w.addResult(result("new", "u", 0, "agent", "x", "neutral"), t0.Add(2*time.Hour)); ev != "c5" {
		t.Errorf("evicted %q; want the ended call c5", ev)
	}
	if ev := w.addResult(result("newer", "u", 0, "agent", "x", "neutral"), t0.Add(2*time.Hour)); ev != "c0" {
		t.Errorf("evicted %q; want c0, updated longest ago", ev)
	}
	if len(w.calls) != MaxCalls {
		t.Errorf("%d calls; want %d", len(w.calls), MaxCalls)
	}

	for i := range MaxUtterances + 5 {
		w.addResult(result("long", fmt.Sprintf("u%d", i), int64(MaxUtterances+5-i)*1000, "agent", "x", "neutral"), t0)
	}
	w.addResult(result("long", "u0", int64(MaxUtterances+5)*1000, "agent", "again", "neutral"), t0) // a replay replaces
	c := w.calls["long"]
	if len(c.Results) != MaxUtterances || c.Dropped != 5 {
		t.Fatalf("%d results, %d dropped; want %d and 5", len(c.Results), c.Dropped, MaxUtterances)
	}
	for i := 1; i < len(c.Results); i++ {
		if c.Results[i].StartMS < c.Results[i-1].StartMS {
			t.Fatalf("results out of time order at %d", i)
		}
	}
	if last := c.Results[len(c.Results)-1]; last.UtteranceID != "u0" || last.Transcript != "again" {
		t.Errorf("last result %+v; want u0 replaced", last)
	}

	for i := range MaxDLQ + 3 {
		w.addDLQ(DLQEntry{Seq: uint64(i + 1)})
	}
	if w.addDLQ(DLQEntry{Seq: MaxDLQ + 3}) {
		t.Error("a DLQ entry read again was added again")
	}
	if len(w.dlq) != MaxDLQ || w.dlq[0].Seq != 4 {
		t.Errorf("%d DLQ entries from seq %d; want %d from 4", len(w.dlq), w.dlq[0].Seq, MaxDLQ)
	}
}

func TestQuantile(t *testing.T) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "x", Buckets: []float64{1, 2, 4}})
	for _, v := range []float64{0.5, 1.5, 1.5, 3, 10} {
		h.Observe(v)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(h)
	fams, _ := reg.Gather()
	hist := fams[0].GetMetric()[0].GetHistogram()
	// 5 observations: rank 2.5 falls in (1, 2] holding 2 (cumulative 1 -> 3).
	if got := quantile(hist, 0.5); got != 1.75 {
		t.Errorf("p50 %v; want 1.75", got)
	}
	if got := quantile(hist, 0.99); got != 4 {
		t.Errorf("p99 %v; want 4 (the highest finite bound)", got)
	}
}

func result(call, id string, startMS int64, role, text, label string) *wire.Result {
	return &wire.Result{SchemaVersion: "1", CallID: call, UtteranceID: id, Mode: wire.ModeClip, Role: role,
		StartMS: startMS, EndMS: startMS + 1000, Transcript: text, Language: "en", LanguageSupported: true,
		Label: label, Scores: map[string]float64{label: 0.8}, Models: map[string]string{"reasoning": "test"},
		TimingsMS: map[string]float64{"total": 12}}
}

func publishResult(t *testing.T, js jetstream.JetStream, r *wire.Result) {
	t.Helper()
	data, _ := json.Marshal(r)
	if _, err := js.Publish(context.Background(), wire.Subject(config.Defaults().NATS.ResultSubject, r.CallID), data); err != nil {
		t.Fatal(err)
	}
}

func getSnapshot(t *testing.T, base string) snapshot {
	t.Helper()
	req, _ := http.NewRequest("GET", base+Prefix+"api/snapshot", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var snap snapshot
	if err := json.NewDecoder(res.Body).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	return snap
}

func mustDecode(t *testing.T, ev sseEvent, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(ev.data), v); err != nil {
		t.Fatalf("event %s: %v: %s", ev.name, err, ev.data)
	}
}
