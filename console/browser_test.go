//go:build whisper

package console_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// chromium is Debian's headless Chromium, in the toolbox.
const chromium = "/usr/lib/chromium/chromium-headless-shell"

// The console in a real browser: the real daemon (`sentio run`, bundled models) with the console
// on a listener beyond loopback, so behind a token, processes a two-channel call of espeak-ng
// speech; headless Chromium logs in with the token and finds the call, its utterances coloured
// by label with evidence marks, the summary chart, a crafted result whose transcript holds
// <script> shown as text, a reject in the DLQ view, and the figures. A screenshot of each view
// is kept in $SENTIO_ARTIFACTS/console (default bin/artifacts/console).
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end with the real models and a browser")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: run this test in the toolbox (toolbox/run go test ...): %v", chromium, err)
	}
	artifacts := artifactDir(t)
	const token = "console-browser-test-0123456789"

	srv := testenv.RunJetStream(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	port := testenv.FreePort(t)
	logPath := filepath.Join(t.TempDir(), "daemon.log")
	listen := fmt.Sprintf("0.0.0.0:%d", port)
	daemon := startDaemon(t, srv.ClientURL(), listen, token, logPath)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("daemon log:\n%s", b)
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	testenv.Eventually(t, 3*time.Minute, "the daemon to be ready", func() bool { return status(base+"/readyz", "") == 200 })

	// Beyond loopback, the data needs the token; the page does not.
	if got := status(base+"/console/api/snapshot", ""); got != 401 {
		t.Errorf("snapshot without the token: %d; want 401", got)
	}
	if got := status(base+"/console/api/snapshot", "not-the-token-0123456789"); got != 401 {
		t.Errorf("snapshot with a wrong token: %d; want 401", got)
	}
	if got := status(base+"/console/api/snapshot", token); got != 200 {
		t.Errorf("snapshot with the token: %d; want 200", got)
	}
	if got := status(base+"/console/", ""); got != 200 {
		t.Errorf("page: %d; want 200", got)
	}

	ctx := browser(t)
	run(t, ctx, "open the console", chromedp.Navigate(base+"/console/#/calls"))
	waitJS(t, ctx, "the token form", `!document.getElementById('login').hidden`, 30*time.Second)
	screenshot(t, ctx, artifacts, "token.png")
	run(t, ctx, "log in", chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("#login-form button")))
	waitJS(t, ctx, "the event stream", `document.getElementById('conn').dataset.state === 'open'`, 30*time.Second)
	waitJS(t, ctx, "the token form to go", `getComputedStyle(document.getElementById('login')).display === 'none'`, 10*time.Second)

	// A crafted result and a reject, then a call streamed live, agent and customer on two
	// channels. The crafted result goes first: the system view shows the models of the latest
	// result, which must be one of the daemon's (the call's results, published after it).
	xss := "Tôi 😀 <script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> I feel awful today"
	publishCrafted(t, js, "console-xss", xss, "awful")
	publish(t, js, &nats.Msg{Subject: "sentio.audio.console-bad", Data: []byte("this is not audio at all")})
	const call = "console-call-1"
	publishCall(t, js, call, []line{
		{0, "Good morning, how can I help you today?"},
		{1, "I have had a terrible headache for three days."},
		{0, "Please take this medicine twice a day after meals."},
		{1, "Thank you so much, I feel much better now."},
	})

	waitJS(t, ctx, "the call in the list", `!!document.querySelector('#calls li[data-call-id="`+call+`"]')`, time.Minute)
	run(t, ctx, "open the call", chromedp.Click(chromedp.CSS(`#calls li[data-call-id="`+call+`"] a`)))
	waitJS(t, ctx, "the call's summary", `!!document.querySelector('#calls li[data-call-id="`+call+`"][data-state="ended"]')`, 10*time.Minute)
	waitJS(t, ctx, "the detail of the ended call", `document.querySelectorAll('#call-detail .utterance').length >= 2 && !!document.querySelector('#call-detail .summary')`, time.Minute)
	var detail struct {
		Labels   []string `json:"labels"`
		Badges   []string `json:"badges"`
		Roles    []string `json:"roles"`
		Marks    int      `json:"marks"`
		Bars     int      `json:"bars"`
		Lines    []string `json:"lines"`
		Latency  []string `json:"latency"`
		Language []string `json:"language"`
	}
	evalJS(t, ctx, `(() => {
		const q = (s) => [...document.querySelectorAll('#call-detail ' + s)];
		return {
			labels: q('.utterance').map((u) => u.dataset.label),
			badges: q('.utterance .badge').map((b) => b.textContent),
			roles: q('.utterance .role').map((b) => b.textContent),
			marks: q('.utterance .transcript mark').length,
			bars: q('svg.timeline rect.bar').length,
			lines: q('svg.trend path.role-line').map((p) => p.dataset.role),
			latency: q('.utterance .latency').map((b) => b.textContent),
			language: q('.utterance .lang').map((b) => b.textContent),
		};
	})()`, &detail)
	t.Logf("call view: %+v", detail)
	if len(detail.Labels) < 2 || detail.Bars != len(detail.Labels) {
		t.Errorf("%d utterances, %d timeline bars; want at least 2, one bar each", len(detail.Labels), detail.Bars)
	}
	for i, l := range detail.Labels {
		if l != "negative" && l != "neutral" && l != "positive" {
			t.Errorf("utterance %d: label %q", i, l)
		}
		if badge := detail.Badges[i]; !strings.HasPrefix(badge, l+" ") || !strings.HasSuffix(badge, "%") {
			t.Errorf("utterance %d: badge %q; want the label with its confidence", i, badge)
		}
		if !strings.HasSuffix(detail.Latency[i], " ms") || !strings.HasPrefix(detail.Language[i], "en ") {
			t.Errorf("utterance %d: latency %q, language %q", i, detail.Latency[i], detail.Language[i])
		}
	}
	if detail.Marks == 0 {
		t.Error("no evidence marks in the transcripts")
	}
	if !slices.Contains(detail.Roles, "agent") || !slices.Contains(detail.Roles, "customer") ||
		!slices.Contains(detail.Lines, "agent") || !slices.Contains(detail.Lines, "customer") {
		t.Errorf("roles %v, trend lines %v; want agent and customer in both", detail.Roles, detail.Lines)
	}
	screenshot(t, ctx, artifacts, "calls.png")

	// The crafted transcript is text: no script ran, no element was made from it, and the
	// evidence offsets (code points, after a two-byte and a four-byte character) mark "awful".
	run(t, ctx, "open the crafted call", chromedp.Click(chromedp.CSS(`#calls li[data-call-id="console-xss"] a`)))
	waitJS(t, ctx, "the crafted result", `document.getElementById('call-detail').dataset.callId === 'console-xss' && !!document.querySelector('#call-detail .transcript')`, time.Minute)
	var crafted struct {
		Text      string `json:"text"`
		Elements  int    `json:"elements"`
		Mark      string `json:"mark"`
		Pwned     bool   `json:"pwned"`
		Rationale string `json:"rationale"`
		RatElems  int    `json:"ratElems"`
	}
	evalJS(t, ctx, `(() => {
		const p = document.querySelector('#call-detail .transcript');
		return {text: p.textContent, elements: p.querySelectorAll('*:not(mark)').length,
			mark: (p.querySelector('mark') || {}).textContent || '', pwned: window.__pwned !== undefined,
			rationale: document.querySelector('#call-detail .rationale').textContent,
			ratElems: document.querySelectorAll('#call-detail .rationale *').length};
	})()`, &crafted)
	if crafted.Text != xss || crafted.Elements != 0 || crafted.Pwned {
		t.Errorf("crafted transcript shown as %q with %d elements (script ran: %v); want the text itself", crafted.Text, crafted.Elements, crafted.Pwned)
	}
	if crafted.Rationale != "<b>not bold</b>" || crafted.RatElems != 0 {
		t.Errorf("crafted rationale shown as %q with %d elements; want the text itself", crafted.Rationale, crafted.RatElems)
	}
	if crafted.Mark != "awful" {
		t.Errorf("evidence mark %q; want %q", crafted.Mark, "awful")
	}
	screenshot(t, ctx, artifacts, "transcript-as-text.png")

	run(t, ctx, "open the DLQ", chromedp.Click(chromedp.CSS("#nav-dlq")))
	waitJS(t, ctx, "the reject in the DLQ view", `!!document.querySelector('#dlq tr[data-code="not_audio"][data-call-id="console-bad"]')`, time.Minute)
	reason := evalString(t, ctx, `document.querySelector('#dlq tr[data-code="not_audio"] .reason').textContent`)
	if reason == "" {
		t.Error("the DLQ entry has no reason")
	}
	screenshot(t, ctx, artifacts, "dlq.png")

	run(t, ctx, "open the figures", chromedp.Click(chromedp.CSS("#nav-system")))
	// The figures come every 2 s: wait for a set taken after the call's results (the models of
	// the latest result are the daemon's), then check them.
	waitJS(t, ctx, "the figures", `!!document.querySelector('#system .health[data-ready="true"]') && (document.querySelector('#system .models')?.textContent ?? '').includes('whisper.cpp')`, time.Minute)
	system := evalString(t, ctx, `document.getElementById('system').textContent`)
	for _, want := range []string{"whisper.cpp", "Results, last minute", "Utterance latency p50", "nats ok"} {
		if !strings.Contains(system, want) {
			t.Errorf("system view lacks %q: %s", want, system)
		}
	}
	inProgress := evalString(t, ctx, `[...document.querySelectorAll('#system dt')].find((d) => d.textContent.startsWith('Calls in progress')).nextElementSibling.textContent`)
	if inProgress != "1 / 2" {
		t.Errorf("calls in progress / in the window: %q; want 1 / 2 (the streamed call ended, the crafted one has no summary)", inProgress)
	}
	screenshot(t, ctx, artifacts, "system.png")

	// The daemon restarts: the page notices, reconnects with the token it kept and gets the
	// window again from the streams (a fresh snapshot, nothing doubled).
	if err := daemon.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = daemon.Wait()
	waitJS(t, ctx, "the page to notice the daemon is gone", `document.getElementById('conn').dataset.state !== 'open'`, 30*time.Second)
	startDaemon(t, srv.ClientURL(), listen, token, logPath)
	waitJS(t, ctx, "the page to reconnect", `document.getElementById('conn').dataset.state === 'open'`, 3*time.Minute)
	run(t, ctx, "open the calls", chromedp.Click(chromedp.CSS("#nav-calls")))
	waitJS(t, ctx, "the calls again after the restart", `!document.getElementById('view-calls').hidden && document.querySelectorAll('#calls li').length === 2 && !!document.querySelector('#calls li[data-call-id="`+call+`"][data-state="ended"]')`, time.Minute)
	run(t, ctx, "open the call again", chromedp.Click(chromedp.CSS(`#calls li[data-call-id="`+call+`"] a`)))
	waitJS(t, ctx, "the call's detail again", `document.getElementById('call-detail').dataset.callId === '`+call+`'`, time.Minute)
	if n := evalString(t, ctx, `String(document.querySelectorAll('#call-detail .utterance').length) + ' ' + document.getElementById('dlq-count').textContent`); n != fmt.Sprint(len(detail.Labels), " 1") {
		t.Errorf("after the restart: %q utterances and DLQ entries; want %d and 1", n, len(detail.Labels))
	}
}

// line is one sentence spoken on a channel.
type line struct {
	channel int
	text    string
}

// publishCall speaks the lines in turn with espeak-ng (channel 0 the agent, 1 the customer, a
// pause between turns) and streams them as 1 s chunks of 16 kHz two-channel PCM.
func publishCall(t *testing.T, js jetstream.JetStream, callID string, lines []line) {
	t.Helper()
	const rate = 16000
	var tracks [2][]float32
	pad := func(n int) {
		for ch := range tracks {
			tracks[ch] = append(tracks[ch], make([]float32, n)...)
		}
	}
	pad(rate / 2)
	for _, l := range lines {
		out := filepath.Join(t.TempDir(), "s.wav")
		testenv.Espeak(t, out, l.text, "-v", "en")
		pcm := testenv.LoadWAV(t, out)
		tracks[l.channel] = append(tracks[l.channel], pcm...)
		tracks[1-l.channel] = append(tracks[1-l.channel], make([]float32, len(pcm))...)
		pad(rate * 8 / 10)
	}
	frames := len(tracks[0])
	for seq, start := 0, 0; start < frames; seq, start = seq+1, start+rate {
		end := min(start+rate, frames)
		data := make([]byte, 0, (end-start)*4)
		for i := start; i < end; i++ {
			for ch := range tracks {
				v := int16(math.Round(float64(max(-1, min(1, tracks[ch][i]))) * 32767))
				data = binary.LittleEndian.AppendUint16(data, uint16(v))
			}
		}
		c := wire.Chunk{CallID: callID, Seq: uint64(seq), Codec: wire.CodecS16LE, Rate: rate, Channels: 2,
			Roles: []string{"agent", "customer"}, End: end == frames, Offset: int64(start)}
		publish(t, js, &nats.Msg{Subject: wire.Subject("sentio.audio", callID), Header: c.Header(), Data: data})
	}
}

// publishCrafted publishes a result as a hostile publisher with write access to the results
// subject could: transcript text, with evidence on the word mark (offsets in code points).
func publishCrafted(t *testing.T, js jetstream.JetStream, callID, transcript, mark string) {
	t.Helper()
	at := strings.Index(transcript, mark)
	start := len([]rune(transcript[:at]))
	r := wire.Result{SchemaVersion: wire.SchemaVersion, CallID: callID, UtteranceID: callID + "-u0", Mode: wire.ModeClip,
		Role: "customer", StartMS: 0, EndMS: 2000, Transcript: transcript, Language: "en", LanguageConfidence: 0.9,
		LanguageSupported: true, LanguageSource: wire.SourceFused, Label: wire.LabelNegative,
		Scores:    map[string]float64{"negative": 0.7, "neutral": 0.2, "positive": 0.1},
		Rationale: "<b>not bold</b>", Evidence: []wire.Evidence{{Text: mark, Start: start, End: start + len([]rune(mark)), Weight: 0.5}},
		Models: map[string]string{"reasoning": "crafted"}, TimingsMS: map[string]float64{"total": 1}}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, js, &nats.Msg{Subject: wire.Subject("sentio.results", callID), Data: data})
}

func publish(t *testing.T, js jetstream.JetStream, m *nats.Msg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatalf("publishing on %s: %v", m.Subject, err)
	}
}

// startDaemon runs `sentio run` with the console on listen, behind token, on an external NATS
// server; its log goes to logPath. It is killed when the test ends.
func startDaemon(t *testing.T, natsURL, listen, token, logPath string) *exec.Cmd {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.Binary(t), "run", "--nats-url", natsURL, "--http-listen", listen, "--log-format", "json",
		"--set", "http.console=true", "--set", "asr.vad_model="+testenv.Shared(t, "data/vad/silero-v6.2.0-ggml.bin"),
		"--set", "shutdown_timeout=5s", "--state-dir", t.TempDir())
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Env = append(os.Environ(), "SENTIO_HTTP_CONSOLE_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); logf.Close() })
	return cmd
}

// status is the HTTP status of GET url, with token as a bearer token when not empty (0 when
// the request fails).
func status(url, token string) int {
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// browser starts headless Chromium (closed when the test ends) and returns its tab's context.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("lang", "en-US"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", chromium, err)
	}
	return ctx
}

func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitJS polls the expression in the page until it is true.
func waitJS(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

func evalJS(t *testing.T, ctx context.Context, expr string, v any) {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v: %s", expr, err, raw)
	}
}

func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	var s string
	evalJS(t, ctx, expr, &s)
	return s
}

// screenshot saves the whole page as a PNG in dir.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d KB)", p, len(png)/1024)
}

// artifactDir is $SENTIO_ARTIFACTS/console, or bin/artifacts/console in the repository; the
// screenshots stay there after the test.
func artifactDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("SENTIO_ARTIFACTS")
	if base == "" {
		base = filepath.Join(testenv.RepoRoot(t), "bin", "artifacts")
	}
	dir := filepath.Join(base, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
