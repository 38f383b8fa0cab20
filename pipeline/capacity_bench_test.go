//go:build whisper

package pipeline

// The capacity report (issue 16; bench/capacity.sh, `make bench-capacity`): the soak of
// soak_real_bench_test.go (real-time calls of espeak-ng speech in 20 ms frames, whisper.cpp,
// Silero, ONNX) run with N concurrent calls, N stepped up until the latency from the end of an
// utterance's audio to its result passes a bound, per ASR model. Each step is a fresh daemon
// (models, NATS server, pipeline) so that no step inherits another's backlog.
//
//	SENTIO_CAPACITY_MODELS=name=path,...   the ASR models, paths relative to the repository's root
//	                                       (required; the benchmark skips without)
//	SENTIO_CAPACITY_STEP=90s               calls streamed per step (the calls in progress then end)
//	SENTIO_CAPACITY_MAX=32                 the largest N tried
//	SENTIO_CAPACITY_P99=2s                 the bound on the p99 latency
//	SENTIO_CAPACITY_SET='k=v;k=v'          configuration keys set for every model (e.g.
//	                                       pipeline.asr_workers=2;asr.threads=1)
//	SENTIO_CAPACITY_OUT=path               the rows (TSV, appended; default in b.TempDir)
//	SENTIO_CAPACITY_RAW=dir                each step's soak samples and goroutine dumps (default
//	                                       b.TempDir)
//
// N goes 1, 2, 3, 4, 6, 8, 12, 16, 24, 32 ... until a step fails (p99 above the bound or a
// result lost), then bisects between the last step that passed and the one that failed.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// capacityHeader names the columns of the rows SENTIO_CAPACITY_OUT gets, one per step; the
// report (bench/capacity-report) reads them by name.
const capacityHeader = "model\tn\tstep_s\tcalls\tutterances\tresults\tlost\tdoubled\tdlq\t" +
	"lat_p50_ms\tlat_p95_ms\tlat_p99_ms\tlat_max_ms\tasr_p50_ms\tasr_p95_ms\tcpu_proc_pct\tcpu_machine_pct\tload1_start\tload1_end\tpace_lag_max_ms\tpass\twall_s"

// capacityModel is one ASR model of the report.
type capacityModel struct{ name, path string }

func capacityModels(b *testing.B) []capacityModel {
	v := os.Getenv("SENTIO_CAPACITY_MODELS")
	if v == "" {
		b.Skip("capacity benchmark: set SENTIO_CAPACITY_MODELS=name=path,... (bench/capacity.sh does)")
	}
	var ms []capacityModel
	for _, f := range strings.Split(v, ",") {
		name, path, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok || name == "" || path == "" {
			b.Fatalf("SENTIO_CAPACITY_MODELS: %q is not name=path", f)
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(testenv.RepoRoot(b), path) // go test runs in ./pipeline
		}
		if _, err := os.Stat(path); err != nil {
			b.Fatalf("SENTIO_CAPACITY_MODELS: model %s: %v", name, err)
		}
		ms = append(ms, capacityModel{name, path})
	}
	return ms
}

// capacityConfig is the soak's configuration (the daemon's defaults, the real models) with the
// model's path and SENTIO_CAPACITY_SET applied.
func capacityConfig(b *testing.B, model string) *config.Config {
	cfg := soakConfig(realConfig(b))
	cfg.ASR.Model = model
	src := config.Source{Env: "SENTIO_CAPACITY_SET"}
	for _, kv := range strings.Split(os.Getenv("SENTIO_CAPACITY_SET"), ";") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			b.Fatalf("SENTIO_CAPACITY_SET: %q is not key=value", kv)
		}
		if err := cfg.Set(strings.TrimSpace(k), strings.TrimSpace(v), src); err != nil {
			b.Fatal(err)
		}
	}
	return cfg
}

// capacityRig starts a component with the real models of cfg on a fresh NATS server, keeping
// the component and its metrics registry (the soak samples them).
func capacityRig(b *testing.B, cfg *config.Config) *rig {
	b.Helper()
	parts, closeParts, err := OpenParts(cfg, logger(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = closeParts() })
	srv := testenv.RunJetStream(b)
	comp, reg := startComponent(b, srv.ClientURL(), cfg, parts, nil)
	nc, js := connect(b, srv.ClientURL())
	return &rig{t: b, srv: srv, nc: nc, js: js, cfg: cfg, comp: comp, reg: reg}
}

// capacityStep is what one step measured.
type capacityStep struct {
	model                      string
	n                          int
	step                       time.Duration
	calls, utterances, results int
	lost, doubled, dlq         int
	p50, p95, p99, max         float64 // ms
	asrP50, asrP95             float64 // ms of whisper.cpp per utterance
	cpuProc, cpuMachine        float64 // % of one core; % of all cores
	load1Start, load1End       string
	paceLag                    float64 // ms
	pass                       bool
	wall                       time.Duration
}

func (c capacityStep) row() string {
	return fmt.Sprintf("%s\t%d\t%.0f\t%d\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t%s\t%.1f\t%t\t%.0f",
		c.model, c.n, c.step.Seconds(), c.calls, c.utterances, c.results, c.lost, c.doubled, c.dlq,
		c.p50, c.p95, c.p99, c.max, c.asrP50, c.asrP95, c.cpuProc, c.cpuMachine, c.load1Start, c.load1End, c.paceLag, c.pass, c.wall.Seconds())
}

// cpuSample is the process's CPU time and the machine's busy and total jiffies at one moment.
type cpuSample struct {
	at          time.Time
	proc        float64 // s
	busy, total uint64
}

// machineCPU reads the first line of /proc/stat: busy and total time of all cores, in jiffies.
func machineCPU() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i >= 7 { // guest time is already counted in user and nice
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// cpuRecorder samples the CPU every 500 ms until stopped, so that the CPU of any window of the
// run can be read afterwards.
type cpuRecorder struct {
	mu      sync.Mutex
	samples []cpuSample
	stop    chan struct{}
	done    chan struct{}
}

func startCPURecorder() *cpuRecorder {
	r := &cpuRecorder{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			r.take()
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

func (r *cpuRecorder) take() {
	busy, total := machineCPU()
	s := cpuSample{at: time.Now(), proc: procCPU(), busy: busy, total: total}
	r.mu.Lock()
	r.samples = append(r.samples, s)
	r.mu.Unlock()
}

func (r *cpuRecorder) close() {
	close(r.stop)
	<-r.done
}

// window returns the process's CPU (% of one core) and the machine's (% of all its cores)
// between the samples nearest to from and to.
func (r *cpuRecorder) window(from, to time.Time) (proc, machine float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	nearest := func(t time.Time) cpuSample {
		best := r.samples[0]
		for _, s := range r.samples {
			if s.at.Sub(t).Abs() < best.at.Sub(t).Abs() {
				best = s
			}
		}
		return best
	}
	a, z := nearest(from), nearest(to)
	if el := z.at.Sub(a.at).Seconds(); el > 0 {
		proc = 100 * (z.proc - a.proc) / el
	}
	if z.total > a.total {
		machine = 100 * float64(z.busy-a.busy) / float64(z.total-a.total)
	}
	return proc, machine
}

func load1() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// capacityRun steps one model.
type capacityRun struct {
	b     *testing.B
	gen   soakGen
	step  time.Duration
	bound time.Duration
	raw   string
	out   *bufio.Writer
}

// measure runs one step: N calls for the step's duration on a fresh daemon.
func (c *capacityRun) measure(m capacityModel, n int) capacityStep {
	res := capacityStep{model: m.name, n: n, step: c.step}
	ok := c.b.Run(fmt.Sprintf("%s/N=%d", m.name, n), func(b *testing.B) {
		b.Setenv("SENTIO_SOAK_OUT", filepath.Join(c.raw, fmt.Sprintf("soak-%s-n%02d.tsv", m.name, n)))
		r := capacityRig(b, capacityConfig(b, m.path))
		began := time.Now()
		res.load1Start = load1()
		cpu := startCPURecorder()
		s := &soak{b: b, r: r, name: fmt.Sprintf("capacity-%s-n%d", m.name, n), streams: n, dur: c.step, gen: c.gen,
			// The same seed for every model: each model gets the same calls at the same N.
			settle: c.step + 2*time.Minute, seed: int64(n) << 20}
		s.run()
		cpu.close()
		// The soak's run keeps its accounting to itself; read the streams back again.
		t := s.tally()
		res.wall = time.Since(began)
		res.load1End = load1()
		res.cpuProc, res.cpuMachine = cpu.window(s.stopAt.Add(-c.step), s.stopAt)
		res.calls, res.utterances, res.results = t.callsEnded, t.expected, t.published
		res.lost, res.doubled, res.dlq = t.lost, t.doubledID+t.overlapping, t.dlq
		res.p50, res.p95, res.p99, res.max = pctOf(s.latAll, 0.5), pctOf(s.latAll, 0.95), pctOf(s.latAll, 0.99), pctOf(s.latAll, 1)
		res.paceLag = float64(s.paceAll.Load()) / 1000
		asr := asrTimes(b, r)
		res.asrP50, res.asrP95 = pctOf(asr, 0.5), pctOf(asr, 0.95)
		res.pass = res.lost == 0 && len(s.latAll) > 0 && res.p99 <= float64(c.bound.Milliseconds())
		b.ReportMetric(res.p50, "p50-ms")
		b.ReportMetric(res.p95, "p95-ms")
		b.ReportMetric(res.p99, "p99-ms")
		b.ReportMetric(float64(res.lost), "lost")
		b.ReportMetric(res.cpuProc, "cpu-%")
	})
	if !ok {
		c.b.Fatalf("capacity %s N=%d failed (above); no row written", m.name, n)
	}
	fmt.Fprintln(c.out, res.row())
	if err := c.out.Flush(); err != nil {
		c.b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "capacity %s N=%d: %d utterances, p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, lost %d, ASR p50 %.0f ms, CPU %.0f %% (machine %.0f %%), pass %t\n",
		m.name, n, res.utterances, res.p50, res.p95, res.p99, res.lost, res.asrP50, res.cpuProc, res.cpuMachine, res.pass)
	return res
}

// asrTimes are the whisper.cpp times of the results published (their timings_ms.asr): what an
// utterance costs, beside the latency that queueing adds to it.
func asrTimes(b *testing.B, r *rig) []float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := r.js.Stream(ctx, r.cfg.NATS.ResultStream)
	if err != nil {
		b.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	msgs, err := readAll(r.js, r.cfg.NATS.ResultStream, info.State.Msgs, time.Minute)
	if err != nil {
		b.Fatalf("reading the results back: %v", err)
	}
	var ms []float64
	for _, m := range msgs {
		var res wire.Result
		if strings.HasSuffix(m.Subject(), "."+wire.SummarySuffix) || json.Unmarshal(m.Data(), &res) != nil {
			continue
		}
		if v, ok := res.TimingsMS[StageASR]; ok {
			ms = append(ms, v)
		}
	}
	return ms
}

// capacitySteps are the N tried before bisecting: 1, 2, 3, 4, 6, 8, 12, 16, 24, 32 ... up to max.
func capacitySteps(max int) []int {
	var ns []int
	for _, n := range []int{1, 2, 3} {
		if n <= max {
			ns = append(ns, n)
		}
	}
	for n := 4; n <= max; n *= 2 {
		ns = append(ns, n)
		if m := n + n/2; m <= max {
			ns = append(ns, m)
		}
	}
	return ns
}

// search steps N up to the first failure, then bisects between the last pass and it.
func (c *capacityRun) search(m capacityModel, max int) {
	lastPass, firstFail := 0, 0
	for _, n := range capacitySteps(max) {
		if c.measure(m, n).pass {
			lastPass = n
			continue
		}
		firstFail = n
		break
	}
	for firstFail > 0 && firstFail-lastPass > 1 {
		n := (lastPass + firstFail) / 2
		if c.measure(m, n).pass {
			lastPass = n
		} else {
			firstFail = n
		}
	}
}

// BenchmarkCapacity finds, per ASR model, the largest number of concurrent real-time calls whose
// end-of-utterance → result latency stays within SENTIO_CAPACITY_P99 at the 99th percentile with
// no result lost (see the top of this file).
func BenchmarkCapacity(b *testing.B) {
	models := capacityModels(b)
	step := 90 * time.Second
	if os.Getenv("SENTIO_CAPACITY_STEP") != "" {
		step = soakEnv(b, "SENTIO_CAPACITY_STEP")
	}
	bound := 2 * time.Second
	if os.Getenv("SENTIO_CAPACITY_P99") != "" {
		bound = soakEnv(b, "SENTIO_CAPACITY_P99")
	}
	max := soakInt(b, "SENTIO_CAPACITY_MAX", 32)
	raw := os.Getenv("SENTIO_CAPACITY_RAW")
	if raw == "" {
		raw = b.TempDir()
	}
	path := os.Getenv("SENTIO_CAPACITY_OUT")
	if path == "" {
		path = filepath.Join(b.TempDir(), "capacity.tsv")
	}
	for _, d := range []string{raw, filepath.Dir(path)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	c := &capacityRun{b: b, step: step, bound: bound, raw: raw, out: bufio.NewWriter(f)}
	fmt.Fprintf(c.out, "# bound: p99 <= %s, no result lost; step %s of calls; N up to %d\n", bound, step, max)
	fmt.Fprintf(c.out, "# config set: %s\n", os.Getenv("SENTIO_CAPACITY_SET"))
	for _, m := range models {
		fi, _ := os.Stat(m.path)
		fmt.Fprintf(c.out, "# model %s: %s (%.0f MB)\n", m.name, m.path, float64(fi.Size())/(1<<20))
	}
	fmt.Fprintln(c.out, capacityHeader)
	if err := c.out.Flush(); err != nil {
		b.Fatal(err)
	}
	tag := strconv.FormatInt(time.Now().Unix()%1e6, 36)
	c.gen = realCall(b, tag)
	for _, m := range models {
		c.search(m, max)
	}
}
