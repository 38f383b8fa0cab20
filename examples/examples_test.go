package examples

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/internal/testenv"
)

// consumer is an example consumer run as a process; its output is kept for the assertions.
type consumer struct {
	name   string
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	exited chan struct{}
	err    error
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func start(t *testing.T, name string, cmd *exec.Cmd) *consumer {
	t.Helper()
	c := &consumer{name: name, cmd: cmd, exited: make(chan struct{})}
	cmd.Dir = testenv.RepoRoot(t) // the default schema path is wire/schema/result.v1.json
	cmd.Stdout = lockedWriter{&c.mu, &c.stdout}
	cmd.Stderr = lockedWriter{&c.mu, &c.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { c.err = cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.exited
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr:\n%s", name, c.out(), name, c.errOut())
		}
	})
	return c
}

func (c *consumer) out() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stdout.String()
}

func (c *consumer) errOut() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// wait waits for the consumer to exit and fails the test unless it exited with status 0.
func (c *consumer) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %v", c.name, timeout)
	}
	if c.err != nil {
		t.Fatalf("%s exited with %v:\n%s", c.name, c.err, c.errOut())
	}
}

var resultLine = regexp.MustCompile(`^result call_id=(\S+) utterance_id=(u-[0-9a-f]{24}) role=\S+ span_ms=\d+-\d+ language=\S* label=(negative|neutral|positive|unsupported) score=[0-9.]+$`)
var summaryLine = regexp.MustCompile(`^summary call_id=(\S+) utterances=(\d+) duration_ms=\d+ counts=\S*$`)

// checkOutput checks that the consumer printed one result line for each of the utterances want
// of call, in any order, then the call's summary, and nothing invalid.
func checkOutput(t *testing.T, c *consumer, call string, want []string) {
	t.Helper()
	var got []string
	summaries := 0
	for _, line := range strings.Split(strings.TrimSpace(c.out()), "\n") {
		if m := resultLine.FindStringSubmatch(line); m != nil {
			if m[1] != call {
				t.Errorf("%s printed a result of call %s; want only %s (acked messages are not delivered again)", c.name, m[1], call)
			}
			got = append(got, m[2])
			continue
		}
		if m := summaryLine.FindStringSubmatch(line); m != nil {
			summaries++
			if m[1] != call || m[2] != strconv.Itoa(len(want)) {
				t.Errorf("%s: %q; want the summary of %s with %d utterances", c.name, line, call, len(want))
			}
			continue
		}
		t.Errorf("%s printed an unexpected line %q", c.name, line)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s printed the results %v; want %v", c.name, got, want)
	}
	if summaries != 1 {
		t.Errorf("%s printed %d summaries; want 1", c.name, summaries)
	}
	if strings.Contains(c.errOut(), "invalid") {
		t.Errorf("%s rejected messages as invalid:\n%s", c.name, c.errOut())
	}
}

// publish sends one espeak-ng clip on call with `sentio publish` as the publisher user, and
// returns the utterance ids of the call's results, sorted, once its summary is in the results
// stream.
func publish(t *testing.T, d *testenv.Daemon, js jetstream.JetStream, call, text string) []string {
	t.Helper()
	wav := filepath.Join(t.TempDir(), call+".wav")
	testenv.Espeak(t, wav, text, "-v", "en", "-g", "12")
	cmd := exec.Command(testenv.Binary(t), "publish", "--nats", d.NATSURL, "--nkey", d.Seed("publisher"),
		"--call-id", call, "--role", "customer", wav)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sentio publish: %v\n%s", err, out)
	}
	testenv.Collect(t, js, "SENTIO_RESULTS", "sentio.results."+call+".summary", 1, 3*time.Minute)
	var ids []string
	for _, m := range testenv.Collect(t, js, "SENTIO_RESULTS", "sentio.results."+call, 0, time.Minute) {
		var r struct {
			UtteranceID string `json:"utterance_id"`
		}
		if err := json.Unmarshal(m.Data(), &r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.UtteranceID)
	}
	if len(ids) == 0 {
		t.Fatalf("call %s has a summary and no result", call)
	}
	sort.Strings(ids)
	return ids
}

// allAcked checks that the subscriber's durable consumer has nothing pending: every message was
// delivered and acked.
func allAcked(t *testing.T, js jetstream.JetStream, durable string) {
	t.Helper()
	info, err := js.Consumer(context.Background(), "SENTIO_RESULTS", durable)
	if err != nil {
		t.Fatalf("consumer %s: %v", durable, err)
	}
	if info.CachedInfo().NumAckPending != 0 || info.CachedInfo().NumPending != 0 {
		t.Errorf("consumer %s: %d messages delivered and not acked, %d not delivered; want 0 and 0",
			durable, info.CachedInfo().NumAckPending, info.CachedInfo().NumPending)
	}
}

// The Go and the Node.js consumer examples, run as a platform runs them against the real daemon
// (`sentio run`, embedded NATS with its generated credentials, real models) on real espeak-ng
// speech published with `sentio publish`: logged in as the subscriber user, each creates its
// durable consumer on the results stream, prints a validated line per result and the summary,
// and acks everything. The Go consumer stops on SIGTERM; run again with the same durable after a
// second call, it gets only that call. The Node.js one stops by itself after a summary
// (SENTIO_SUMMARIES=1).
func TestConsumerExamplesAgainstTheDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end with the real daemon and models")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (the toolbox has it): the Node.js example is not tested")
	}
	root := testenv.RepoRoot(t)
	for _, args := range [][]string{{"ci", "--no-audit", "--no-fund"}, {"run", "build"}} {
		npm := exec.Command("npm", append([]string{"--prefix", filepath.Join(root, "examples/node")}, args...)...)
		if out, err := npm.CombinedOutput(); err != nil {
			t.Fatalf("npm %s --prefix examples/node: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	goConsumer := filepath.Join(t.TempDir(), "go-consumer")
	build := exec.Command("go", "build", "-o", goConsumer, "./examples/go-consumer")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/go-consumer: %v\n%s", err, out)
	}

	d := testenv.StartDaemon(t, "--set", "nats.ack_wait=20s")
	_, sentioJS := testenv.Connect(t, d.NATSURL, nkey(t, d.Seed("daemon")))
	_, subJS := testenv.Connect(t, d.NATSURL, nkey(t, d.Seed("subscriber")))

	goRun := func() *consumer {
		return start(t, "go-consumer", exec.Command(goConsumer, "--nats", d.NATSURL, "--nkey", d.Seed("subscriber"), "--durable", "go-example"))
	}
	goC := goRun()
	nodeCmd := exec.Command(node, "examples/node/dist/consumer.js")
	nodeCmd.Env = append(os.Environ(), "NATS_URL="+d.NATSURL, "NATS_NKEY="+d.Seed("subscriber"),
		"SENTIO_DURABLE=node-example", "SENTIO_SUMMARIES=1")
	nodeC := start(t, "node consumer.js", nodeCmd)

	first := publish(t, d, sentioJS, "examples-1",
		"I have been waiting for three weeks and nobody called me back. This is really frustrating.")
	nodeC.wait(t, 2*time.Minute)
	checkOutput(t, nodeC, "examples-1", first)
	allAcked(t, subJS, "node-example")

	testenv.Eventually(t, 2*time.Minute, "the Go consumer to print the summary", func() bool {
		return strings.Contains(goC.out(), "summary call_id=examples-1")
	})
	if err := goC.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	goC.wait(t, 30*time.Second)
	checkOutput(t, goC, "examples-1", first)
	allAcked(t, subJS, "go-example")

	// The durable consumer resumes after the last ack: a second call, a second run.
	second := publish(t, d, sentioJS, "examples-2", "Thank you so much, the new medication works and I feel much better.")
	again := start(t, "go-consumer (second run)", exec.Command(goConsumer, "--nats", d.NATSURL, "--nkey", d.Seed("subscriber"),
		"--durable", "go-example", "--summaries", "1"))
	again.wait(t, 2*time.Minute)
	checkOutput(t, again, "examples-2", second)
	allAcked(t, subJS, "go-example")
}

func nkey(t *testing.T, seed string) nats.Option {
	t.Helper()
	opt, err := nats.NkeyOptionFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return opt
}
