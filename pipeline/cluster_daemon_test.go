//go:build whisper

package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// clusterDaemon is a `sentio run` subprocess connected to the test's NATS cluster, logging JSON
// to its own file.
type clusterDaemon struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	http    string // http://host:port of /readyz and /metrics, once known
}

// startClusterDaemon runs `sentio run` against the cluster's client URLs with replicated streams,
// its HTTP endpoint on a free loopback port and its state in a temporary directory.
func startClusterDaemon(t *testing.T, name string, urls []string, logPath string) *clusterDaemon {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.Binary(t), "run", "--nats-url", strings.Join(urls, ","),
		"--http-listen", "127.0.0.1:0", "--log-format", "json", "--state-dir", t.TempDir(),
		"--set", "nats.replicas=3",
		"--set", "asr.vad_model="+testenv.Shared(t, "data/vad/silero-v6.2.0-ggml.bin"),
		"--set", "asr.threads=1", // two daemons share the machine
		"--set", "nats.ack_wait=20s", "--set", "shutdown_timeout=5s")
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &clusterDaemon{t: t, name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(d.exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-d.exited })
	return d
}

// logLines returns the JSON log records of the daemon's log file so far (every run of it).
func (d *clusterDaemon) logLines() []map[string]any {
	f, err := os.Open(d.logPath)
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// waitReady waits for the "http listening" log line of the current run and then for /readyz 200.
func (d *clusterDaemon) waitReady(timeout time.Duration, skipListens int) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for d.http == "" {
		n := 0
		for _, m := range d.logLines() {
			if m["msg"] == "http listening" {
				if n == skipListens {
					d.http = "http://" + m["addr"].(string)
				}
				n++
			}
		}
		select {
		case <-d.exited:
			d.t.Fatalf("daemon %s exited before listening; its log:\n%s", d.name, d.log())
		default:
		}
		if d.http == "" && time.Now().After(deadline) {
			d.t.Fatalf("daemon %s did not log \"http listening\" within %v; its log:\n%s", d.name, timeout, d.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for {
		code, body := httpGet(d.http + "/readyz")
		if code == http.StatusOK {
			return
		}
		select {
		case <-d.exited:
			d.t.Fatalf("daemon %s exited before it was ready; its log:\n%s", d.name, d.log())
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("daemon %s not ready within %v: /readyz %d %q; its log:\n%s", d.name, timeout, code, body, d.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (d *clusterDaemon) log() string {
	b, _ := os.ReadFile(d.logPath)
	return string(b)
}

func httpGet(url string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// publishedTotal is sentio_pipeline_results_published_total summed over its labels, from /metrics.
func (d *clusterDaemon) publishedTotal() float64 {
	d.t.Helper()
	code, body := httpGet(d.http + "/metrics")
	if code != http.StatusOK {
		d.t.Fatalf("daemon %s /metrics: %d %q", d.name, code, body)
	}
	var n float64
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, "sentio_pipeline_results_published_total") {
			continue
		}
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			d.t.Fatalf("daemon %s /metrics line %q: %v", d.name, l, err)
		}
		n += v
	}
	return n
}

// owned is the set of partitions the daemon consumes now: its last "partitions assigned" line.
func (d *clusterDaemon) owned() []int {
	var out []int
	for _, m := range d.logLines() {
		if m["msg"] != "partitions assigned" {
			continue
		}
		out = out[:0]
		ps, _ := m["consuming"].([]any)
		for _, p := range ps {
			out = append(out, int(p.(float64)))
		}
	}
	return out
}

// Two real daemons (`sentio run`, real models) against a three-node JetStream cluster on
// loopback share the stream-mode calls; one is killed with SIGKILL mid-stream and the other
// finishes every call: exactly one result per utterance, no duplicate, nothing in the DLQ. The
// killed daemon then restarts and takes its share back; the survivor stays ready throughout.
func TestTwoDaemonsOnAClusterSurviveTheDeathOfOne(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test with the real daemon and models")
	}
	testStart := time.Now()
	urls := runCluster(t)
	waitJetStream(t, urls[0])
	dir := t.TempDir()
	a := startClusterDaemon(t, "A", urls, filepath.Join(dir, "a.log"))
	b := startClusterDaemon(t, "B", urls, filepath.Join(dir, "b.log"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon A log:\n%s", a.log())
			t.Logf("daemon B log:\n%s", b.log())
		}
	})
	a.waitReady(3*time.Minute, 0)
	b.waitReady(3*time.Minute, 0)
	t.Logf("both daemons ready after %v", time.Since(testStart).Round(time.Millisecond))

	// Wait until the partitions are spread over both, each partition consumed by one of them.
	spread := func(a, b *clusterDaemon, timeout time.Duration) ([]int, []int) {
		deadline := time.Now().Add(timeout)
		for {
			pa, pb := a.owned(), b.owned()
			all := map[int]bool{}
			for _, p := range append(append([]int(nil), pa...), pb...) {
				all[p] = true
			}
			if len(pa) > 0 && len(pb) > 0 && len(pa)+len(pb) == bus.Partitions && len(all) == bus.Partitions {
				return pa, pb
			}
			if time.Now().After(deadline) {
				t.Fatalf("partitions not spread over both daemons within %v: A %v, B %v", timeout, pa, pb)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	pa, pb := spread(a, b, 30*time.Second)
	t.Logf("partitions: A %v, B %v", pa, pb)

	// One call per partition, so that both daemons have calls whichever partitions they own.
	run := time.Now().UnixNano() // ids unique per run: results are deduplicated by id
	callOf := map[int]string{}
	for i := 0; len(callOf) < bus.Partitions; i++ {
		id := fmt.Sprintf("cluster-%d-%d", run, i)
		if p := bus.PartitionOf(id); callOf[p] == "" {
			callOf[p] = id
		}
	}
	ownerOf := map[string]string{}
	for _, p := range pa {
		ownerOf[callOf[p]] = "A"
	}
	for _, p := range pb {
		ownerOf[callOf[p]] = "B"
	}

	nc, js := connect(t, urls[2])
	cfg := testConfig() // the daemons run with the default names; only those are read from it
	r := &rig{t: t, nc: nc, js: js, cfg: cfg}
	langs := [][2]string{{"en", "fr"}, {"de", "vi"}, {"zh", "en"}, {"fr", "de"}}
	type call struct {
		id          string
		first, rest []chunkMsg // up to the second sentence, from it
		partition   int
		spans       [2][2]int64 // the sentences, in ms
	}
	var calls []call
	for p := 0; p < bus.Partitions; p++ {
		l := langs[p%len(langs)]
		s1, s2 := speak(t, l[0], corpusSentence(t, l[0], p/len(langs))), speak(t, l[1], corpusSentence(t, l[1], 2+p/len(langs)))
		cs := chunks(callOf[p], concat(s1, s2), 200)
		split := (segment16k(1) + len(s1) + segment16k(1)) / segment16k(0.2) // chunks before the second sentence
		ms := func(n int) int64 { return int64(n) * 1000 / 16000 }
		spans := [2][2]int64{{1000, 1000 + ms(len(s1))}, {2000 + ms(len(s1)), 2000 + ms(len(s1)+len(s2))}}
		calls = append(calls, call{id: callOf[p], first: cs[:split], rest: cs[split:], partition: p, spans: spans})
	}
	// The audio stream must agree with partitionOf, or the calls are not spread as intended.
	checkPartitions := func() {
		st, err := js.Stream(context.Background(), cfg.NATS.AudioStream)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range calls {
			subj := fmt.Sprintf("%s.%d.%s", cfg.NATS.AudioSubject, c.partition, c.id)
			if _, err := st.GetLastMsgForSubject(context.Background(), subj); err != nil {
				t.Fatalf("call %s is not on %s as partitionOf predicts: %v", c.id, subj, err)
			}
		}
	}

	// Every call's first sentence (and the pause after it): both daemons publish results.
	for k := 0; ; k++ {
		sent := false
		for _, c := range calls {
			if k < len(c.first) {
				r.sendChunks(c.first[k : k+1])
				sent = true
			}
		}
		if !sent {
			break
		}
	}
	checkPartitions()
	deadline := time.Now().Add(5 * time.Minute)
	for a.publishedTotal() == 0 || b.publishedTotal() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("work not shared within 5 minutes: A published %v results, B %v", a.publishedTotal(), b.publishedTotal())
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("both daemons publish (A %v, B %v) after %v", a.publishedTotal(), b.publishedTotal(), time.Since(testStart).Round(time.Millisecond))

	// The survivor's /readyz is watched from here to the end.
	var (
		mu       sync.Mutex
		notReady []string
		polls    int
	)
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(250 * time.Millisecond):
			}
			code, body := httpGet(a.http + "/readyz")
			mu.Lock()
			polls++
			if code != http.StatusOK {
				notReady = append(notReady, fmt.Sprintf("%s: %d %q", time.Now().Format(time.TimeOnly), code, body))
			}
			mu.Unlock()
		}
	}()

	// The second sentences, interleaved; B dies halfway through the shortest,
	// with every call's second utterance in progress.
	longest, shortest := 0, len(calls[0].rest)
	for _, c := range calls {
		longest, shortest = max(longest, len(c.rest)), min(shortest, len(c.rest))
	}
	var killedAt time.Time
	for k := 0; k < longest; k++ {
		for _, c := range calls {
			if k < len(c.rest) {
				r.sendChunks(c.rest[k : k+1])
			}
		}
		if k == shortest/2 {
			bPub := b.publishedTotal()
			if err := b.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-b.exited
			killedAt = time.Now()
			t.Logf("SIGKILL B after %v results from it; %d chunk rounds still to send", bPub, longest-k-1)
		}
	}

	want := 2 * len(calls)
	collect(t, js, cfg.NATS.ResultStream, "sentio.results.*", want, 10*time.Minute) // wait for them
	t.Logf("%d results %v after the kill", want, time.Since(killedAt).Round(time.Millisecond))
	// Every input acked, B's redelivered ones included: nothing more is published after this.
	r.settled(5 * time.Minute)
	res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results.*", want, 5*time.Second))
	perCall := map[string]int{}
	perUtt := map[string]int{}
	byCall := map[string][]wire.Result{}
	for _, x := range res {
		perCall[x.CallID]++
		perUtt[x.UtteranceID]++
		byCall[x.CallID] = append(byCall[x.CallID], x)
	}
	// Each result is a whole sentence: a result cut short (a call resumed at a later chunk than
	// its first unprocessed one) covers only part of its sentence.
	for _, c := range calls {
		rs := byCall[c.id]
		sort.Slice(rs, func(i, j int) bool { return rs[i].StartMS < rs[j].StartMS })
		for i, x := range rs {
			if i >= len(c.spans) {
				break
			}
			sp := c.spans[i]
			overlap := min(x.EndMS, sp[1]) - max(x.StartMS, sp[0])
			if overlap < (sp[1]-sp[0])/2 {
				t.Errorf("call %s (daemon %s before the kill): result %s spans %d-%d ms; sentence %d spans %d-%d ms",
					c.id, ownerOf[c.id], x.UtteranceID, x.StartMS, x.EndMS, i+1, sp[0], sp[1])
			}
		}
	}
	for id, n := range perUtt {
		if n != 1 {
			t.Errorf("utterance %s has %d results; want 1", id, n)
		}
	}
	for _, c := range calls {
		if perCall[c.id] != 2 {
			t.Errorf("call %s (partition %d, daemon %s before the kill): %d results; want 2 (one per sentence)",
				c.id, c.partition, ownerOf[c.id], perCall[c.id])
		}
	}
	if len(res) != want || len(perCall) != len(calls) {
		t.Errorf("%d results over %d calls; want %d over %d", len(res), len(perCall), want, len(calls))
	}
	for _, c := range calls {
		if s := summaryOf(t, r, c.id); s.Utterances != 2 {
			t.Errorf("summary of %s counts %d utterances; want 2", c.id, s.Utterances)
		}
	}
	if dlq := collect(t, js, cfg.NATS.DLQStream, "sentio.dlq.>", 0, 200*time.Millisecond); len(dlq) != 0 {
		for _, m := range dlq {
			t.Errorf("unexpected DLQ entry on %s: %v", m.Subject(), m.Headers())
		}
	}
	// The survivor took B's partitions over.
	if got := a.owned(); len(got) != bus.Partitions {
		t.Errorf("after B's death A consumes partitions %v; want all %d", got, bus.Partitions)
	}

	// B restarts (same log file) and takes its share back.
	b2 := startClusterDaemon(t, "B (restarted)", urls, b.logPath)
	b2.waitReady(3*time.Minute, 1)
	pa, pb = spread(a, b2, 30*time.Second)
	t.Logf("after B's restart: A %v, B %v", pa, pb)
	close(stopWatch)
	<-watched
	mu.Lock()
	if len(notReady) > 0 {
		t.Errorf("the survivor's /readyz was not 200 in %d of %d polls: %s", len(notReady), polls, strings.Join(notReady, "; "))
	}
	mu.Unlock()
	for _, d := range []*clusterDaemon{a, b2} {
		for _, m := range d.logLines() {
			if m["level"] == "ERROR" {
				line, _ := json.Marshal(m)
				t.Errorf("daemon %s logged an error: %s", d.name, line)
			}
		}
	}
	t.Logf("survivor's warnings:\n%s", grepLevel(a.log(), "WARN"))
	t.Logf("total %v", time.Since(testStart).Round(time.Millisecond))
}

func grepLevel(log, level string) string {
	var b bytes.Buffer
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, `"level":"`+level+`"`) {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
