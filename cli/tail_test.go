package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// The escape sequences fatih/color writes for the label colours tail uses.
const (
	escape   = "\x1b["
	escRed   = "\x1b[31m"
	escGreen = "\x1b[32m"
)

// tailResult is a result as the daemon publishes it: utterance i of call, said by role in lang
// with label (empty: a language outside the configured set).
func tailResult(call string, i int, role, lang, label, transcript string) *wire.Result {
	r := &wire.Result{CallID: call, UtteranceID: wire.UtteranceID(call, 0, int64(i*16000)), Mode: wire.ModeStream, Role: role,
		StartMS: int64(i * 1000), EndMS: int64(i*1000 + 800), Transcript: transcript, Language: lang, LanguageConfidence: 0.9,
		LanguageSource: wire.SourceFused, Models: map[string]string{"asr": "x"}, TimingsMS: map[string]float64{"total": 5}}
	if label != "" {
		r.LanguageSupported = true
		r.Label = label
		r.Scores = map[string]float64{"negative": 0.1, "neutral": 0.1, "positive": 0.1}
		r.Scores[label] = 0.8
		r.Rationale = "Rationale of " + transcript
	}
	return r
}

// publishResults publishes results and summaries on the results stream, in order.
func publishResults(t *testing.T, js jetstream.JetStream, msgs ...any) {
	t.Helper()
	for _, m := range msgs {
		var subject string
		var b []byte
		var err error
		switch v := m.(type) {
		case *wire.Result:
			subject = wire.Subject("sentio.results", v.CallID)
			b, err = wire.MarshalResult(v)
		case *wire.Summary:
			subject = wire.SummarySubject("sentio.results", v.CallID)
			b, err = json.Marshal(v)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(context.Background(), subject, b); err != nil {
			t.Fatal(err)
		}
	}
}

// noScores makes r a result of a reasoning model that gives no label probabilities (an LLM).
func noScores(r *wire.Result) *wire.Result {
	f := false
	r.Scores, r.ScoresAvailable = nil, &f
	return r
}

func tailSummary(call string, n int) *wire.Summary {
	return &wire.Summary{SchemaVersion: wire.SchemaVersion, Kind: "summary", CallID: call, Utterances: n,
		DurationMS: int64(n * 1000), Counts: map[string]int{"negative": 1, "positive": n - 1}}
}

// sentioTTY runs the binary with its stdout on a pseudo-terminal and returns what it printed
// there and its exit status.
func sentioTTY(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	cmd := exec.Command(testenv.Binary(t), args...)
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Env = append(append(cleanEnv(), "TERM=xterm-256color"), env...) // not the developer's: TERM=dumb means no colour
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = tty, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	out, err := io.ReadAll(ptmx) // EIO once the process has closed the terminal
	if err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatal(err)
	}
	code := 0
	var ee *exec.ExitError
	if err := cmd.Wait(); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Logf("stderr: %s", errb.String())
	}
	return string(out), code
}

func TestTailColoursLabelsOnlyOnATerminal(t *testing.T) {
	url, js := setupStreams(t)
	publishResults(t, js,
		tailResult("c1", 0, "patient", "en", "negative", "It hurts"),
		tailResult("c1", 1, "patient", "en", "positive", "Thank you"),
		tailResult("c1", 2, "patient", "ja", "", "こんにちは"))
	args := []string{"tail", "--nats", url, "--call-id", "c1", "--count", "3", "--timeout", "20s"}

	out, errs, code := sentio(t, nil, args...)
	if code != 0 || strings.Count(out, "\n") != 3 || strings.Contains(out, escape) {
		t.Fatalf("piped: exit %d, want 3 plain lines\n%q%s", code, out, errs)
	}
	out, errs, code = sentio(t, nil, append(args, "--color", "always")...)
	if code != 0 || !strings.Contains(out, escRed+"negative 0.80") || !strings.Contains(out, escGreen+"positive 0.80") {
		t.Fatalf("--color always: exit %d, want red negative and green positive\n%q%s", code, out, errs)
	}
	if out, code := sentioTTY(t, nil, args...); code != 0 || !strings.Contains(out, escRed+"negative 0.80") || !strings.Contains(out, escGreen+"positive 0.80") {
		t.Fatalf("on a terminal: exit %d, want colours\n%q", code, out)
	}
	if out, code := sentioTTY(t, []string{"NO_COLOR=1"}, args...); code != 0 || strings.Count(out, "\n") != 3 || strings.Contains(out, escape) {
		t.Fatalf("on a terminal with NO_COLOR: exit %d, want 3 plain lines\n%q", code, out)
	}
	if out, code := sentioTTY(t, nil, append(args, "--color", "never")...); code != 0 || strings.Count(out, "\n") != 3 || strings.Contains(out, escape) {
		t.Fatalf("on a terminal with --color never: exit %d, want 3 plain lines\n%q", code, out)
	}
	if out, code := sentioTTY(t, []string{"NO_COLOR=1"}, append(args, "--color", "always")...); code != 0 || !strings.Contains(out, escRed) {
		t.Fatalf("--color always with NO_COLOR: exit %d, want colours (the flag wins)\n%q", code, out)
	}
	if _, errs, code := sentio(t, nil, "tail", "--nats", url, "--color", "rainbow"); code != 2 || !strings.Contains(errs, "auto, always or never") {
		t.Fatalf("--color rainbow: exit %d, %s", code, errs)
	}
}

func TestTailFilters(t *testing.T) {
	url, js := setupStreams(t)
	publishResults(t, js,
		tailResult("f1", 0, "clinician", "en", "neutral", "How are you"),
		tailResult("f1", 1, "patient", "en", "negative", "I feel awful"),
		tailResult("f2", 0, "patient", "vi", "positive", "Tôi khỏe"),
		tailResult("f2", 1, "patient", "ja", "", "元気です"),
		tailResult("f3", 0, "clinician", "en", "negative", "That is bad news"),
		tailSummary("f3", 1), // no result of f3 shown: not shown either
		tailResult("f1", 2, "Patient", "vi", "neutral", "Cảm ơn"),
		tailSummary("f1", 3),
	)
	base := []string{"tail", "--nats", url, "--from-start", "--timeout", "20s"}

	// The last message matches, so tail has read (and filtered) every other one when it stops.
	out, errs, code := sentio(t, nil, append(base, "--role", "PATIENT", "--label", "negative,neutral", "--count", "3")...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.Contains(lines[0], "I feel awful") || !strings.Contains(lines[1], "Cảm ơn") ||
		!strings.HasPrefix(lines[2], "f1  SUMMARY") {
		t.Fatalf("--role patient --label negative,neutral: exit %d, want 2 results and f1's summary\n%s%s", code, out, errs)
	}
	out, errs, code = sentio(t, nil, append(base, "--language", "vi", "--language", "ja", "--json", "--count", "4")...)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 {
		t.Fatalf("--language vi --language ja --json: exit %d, want 4 lines\n%s%s", code, out, errs)
	}
	for i, want := range []string{"f2", "f2", "f1", "f1"} {
		var r wire.Result
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil || r.CallID != want || (i < 3 && r.Language != "vi" && r.Language != "ja") {
			t.Fatalf("--language vi,ja --json line %d: %s", i, lines[i])
		}
	}
	out, errs, code = sentio(t, nil, append(base, "--label", "unsupported", "--count", "1")...)
	if code != 0 || !strings.Contains(out, "元気です") || strings.Count(out, "\n") != 1 {
		t.Fatalf("--label unsupported: exit %d\n%s%s", code, out, errs)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--label", "happy"}, `--label "happy": use negative, neutral, positive or unsupported`},
		{[]string{"--language", "xx"}, `--language "xx"`},
		{[]string{"--role", ","}, "--role"},
		{[]string{"--json", "--no-text"}, "--no-text"},
		{[]string{"--json", "--by-call"}, "--by-call"},
		{[]string{"--call-id", "c 1"}, `--call-id: call id "c 1" has ' '`},
	} {
		if _, errs, code := sentio(t, nil, append([]string{"tail", "--nats", url}, c.args...)...); code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("tail %v: exit %d, want 2 and %q\n%s", c.args, code, c.want, errs)
		}
	}
}

func TestTailByCall(t *testing.T) {
	url, js := setupStreams(t)
	long := "I have been feeling rather dizzy in the mornings since the new tablets, and my sleep is poor too"
	publishResults(t, js,
		tailResult("b1", 0, "clinician", "en", "neutral", "Good morning"),
		tailResult("b1", 1, "patient", "en", "negative", long),
		tailResult("b2", 0, "agent", "vi", "positive", "Xin chào"),
		noScores(tailResult("b2", 1, "agent", "vi", "negative", "Tạm biệt")),
		tailResult("b1", 2, "patient", "ja", "", "元気です"),
		tailSummary("b1", 3),
	)
	args := []string{"tail", "--nats", url, "--from-start", "--by-call", "--count", "6", "--timeout", "20s"}
	out, errs, code := sentio(t, nil, args...)
	want := []string{
		"── b1",
		`  0:00.0  clinician  neutral 0.80   en  "Good morning"`,
		`  0:01.0  patient    negative 0.80  en  "I have been feeling rather dizzy in the mornings since the new…"`,
		"── b2",
		`  0:00.0  agent      positive 0.80  vi  "Xin chào"`,
		`  0:01.0  agent      negative       vi  "Tạm biệt"`,
		"── b1",
		`  0:02.0  patient    unsupported    ja  "元気です"`,
		"  summary: 3 utterances over 3.0s: negative 1, positive 2",
	}
	if code != 0 || strings.TrimRight(out, "\n") != strings.Join(want, "\n") {
		t.Fatalf("--by-call: exit %d\n%s%s\nwant\n%s", code, out, errs, strings.Join(want, "\n"))
	}

	// --no-text hides what was said, in both readable views.
	for _, view := range [][]string{{"--by-call"}, nil} {
		out, errs, code = sentio(t, nil, append([]string{"tail", "--nats", url, "--from-start", "--no-text", "--count", "6", "--timeout", "20s"}, view...)...)
		if code != 0 || strings.Contains(out, "Good morning") || strings.Contains(out, "dizzy") || strings.Contains(out, "Rationale") ||
			!strings.Contains(out, "negative 0.80") || !strings.Contains(out, "3 utterances") {
			t.Fatalf("--no-text %v: exit %d\n%s%s", view, code, out, errs)
		}
	}
}
