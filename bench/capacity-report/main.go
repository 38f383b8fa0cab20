// Command capacity-report turns the rows of the capacity benchmark (BenchmarkCapacity in
// pipeline/capacity_bench_test.go, run by bench/capacity.sh) into a Markdown report and a plot of
// the latency against the number of concurrent calls, per ASR model, and prints one summary line
// per model: the largest number of calls whose p99 latency stayed within the bound with no
// result lost.
//
//	go run ./bench/capacity-report -in capacity.tsv -out bench/capacity/2026-12-03
//
// writes capacity.md and capacity.png into the -out directory.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// step is one row of the benchmark: one model at one N.
type step struct {
	model                      string
	n                          int
	stepS                      float64
	calls, utterances, results int
	lost, doubled, dlq         int
	p50, p95, p99, max         float64 // ms
	asrP50, asrP95             float64 // ms
	cpuProc, cpuMachine        float64
	load1Start, load1End       string
	paceLag                    float64
	pass                       bool
}

// run is what the TSV holds: its comment lines (the run's settings and machine) and its rows.
type run struct {
	meta  []string
	steps []step
	bound float64 // ms, from the "# bound: p99 <= 2s" line
}

var boundRe = regexp.MustCompile(`^bound: p99 <= ([0-9a-zµ.]+)`)

// parse reads the benchmark's TSV: "# " lines, header lines (the columns by name) and rows.
func parse(r io.Reader) (*run, error) {
	out := &run{}
	var cols map[string]int
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		t := sc.Text()
		switch {
		case strings.TrimSpace(t) == "":
			continue
		case strings.HasPrefix(t, "#"):
			m := strings.TrimSpace(strings.TrimPrefix(t, "#"))
			if g := boundRe.FindStringSubmatch(m); g != nil {
				b, err := time.ParseDuration(g[1])
				if err != nil || b <= 0 {
					return nil, fmt.Errorf("line %d: the bound %q is not a positive duration", line, g[1])
				}
				out.bound = float64(b) / float64(time.Millisecond)
			}
			if !contains(out.meta, m) {
				out.meta = append(out.meta, m)
			}
			continue
		case strings.HasPrefix(t, "model\t"):
			cols = map[string]int{}
			for i, c := range strings.Split(t, "\t") {
				cols[c] = i
			}
			continue
		}
		if cols == nil {
			return nil, fmt.Errorf("line %d: a row before the header line (model\\tn\\t...)", line)
		}
		s, err := parseStep(strings.Split(t, "\t"), cols)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out.steps = append(out.steps, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if out.bound == 0 {
		out.bound = 2000
	}
	return out, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func parseStep(f []string, cols map[string]int) (step, error) {
	var s step
	var err error
	get := func(name string) string {
		i, ok := cols[name]
		if !ok || i >= len(f) {
			if err == nil {
				err = fmt.Errorf("no column %s", name)
			}
			return ""
		}
		return f[i]
	}
	num := func(name string) float64 {
		v := get(name)
		x, e := strconv.ParseFloat(v, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("column %s: %q is not a number", name, v)
		}
		return x
	}
	s.model = get("model")
	s.n = int(num("n"))
	s.stepS = num("step_s")
	s.calls, s.utterances, s.results = int(num("calls")), int(num("utterances")), int(num("results"))
	s.lost, s.doubled, s.dlq = int(num("lost")), int(num("doubled")), int(num("dlq"))
	s.p50, s.p95, s.p99, s.max = num("lat_p50_ms"), num("lat_p95_ms"), num("lat_p99_ms"), num("lat_max_ms")
	s.asrP50, s.asrP95 = num("asr_p50_ms"), num("asr_p95_ms")
	s.cpuProc, s.cpuMachine = num("cpu_proc_pct"), num("cpu_machine_pct")
	s.load1Start, s.load1End = get("load1_start"), get("load1_end")
	s.paceLag = num("pace_lag_max_ms")
	s.pass = get("pass") == "true"
	return s, err
}

// models returns the models in the order of their first row, each with its steps sorted by N
// (a step run twice keeps its last row).
func (r *run) models() ([]string, map[string][]step) {
	var names []string
	by := map[string]map[int]step{}
	for _, s := range r.steps {
		if by[s.model] == nil {
			by[s.model] = map[int]step{}
			names = append(names, s.model)
		}
		by[s.model][s.n] = s
	}
	out := map[string][]step{}
	for m, ns := range by {
		for _, s := range ns {
			out[m] = append(out[m], s)
		}
		sort.Slice(out[m], func(i, j int) bool { return out[m][i].n < out[m][j].n })
	}
	return names, out
}

// capacity is the largest N that passed below the smallest N that failed (0 when N=1 failed),
// that failure (nil when none did: the capacity is at least the N returned).
func capacity(steps []step) (int, *step) {
	var fail *step
	for i := range steps {
		if !steps[i].pass {
			fail = &steps[i]
			break
		}
	}
	best := 0
	for _, s := range steps {
		if s.pass && (fail == nil || s.n < fail.n) && s.n > best {
			best = s.n
		}
	}
	return best, fail
}

func secs(ms float64) string { return strconv.FormatFloat(ms/1000, 'f', 2, 64) }

// summary is the report's line for one model.
func summary(model string, steps []step, bound float64) string {
	n, fail := capacity(steps)
	line := fmt.Sprintf("%s: largest N with p99 <= %s s: %d", model, strconv.FormatFloat(bound/1000, 'g', -1, 64), n)
	switch {
	case fail == nil && len(steps) > 0:
		line += fmt.Sprintf(" (every step passed; the largest tried, so at least %d)", steps[len(steps)-1].n)
	case fail != nil && fail.lost > 0:
		line += fmt.Sprintf(" (N=%d: %d results lost, p99 %s s)", fail.n, fail.lost, secs(fail.p99))
	case fail != nil:
		line += fmt.Sprintf(" (N=%d: p99 %s s)", fail.n, secs(fail.p99))
	}
	return line
}

// markdown writes the report.
func markdown(w io.Writer, r *run, png string) {
	names, by := r.models()
	fmt.Fprintf(w, "# Capacity: concurrent real-time calls per ASR model\n\n")
	fmt.Fprintf(w, "N calls stream espeak-ng speech with pauses in 20 ms frames, in real time, into the daemon "+
		"(pipeline/capacity_bench_test.go: the soak of soak_real_bench_test.go, a fresh daemon per step). "+
		"Latency is the time from the end of an utterance's audio having been published to its result "+
		"arriving on sentio.results.<call>; it includes the wait of the voice activity detector for the "+
		"silence that ends an utterance. A step passes when its p99 is at most %s s and no result is lost.\n\n",
		strconv.FormatFloat(r.bound/1000, 'g', -1, 64))
	fmt.Fprintf(w, "## Summary\n\n")
	for _, m := range names {
		fmt.Fprintf(w, "- %s\n", summary(m, by[m], r.bound))
	}
	fmt.Fprintf(w, "\n![p99 and p50 latency against N per model](%s)\n\n", png)
	fmt.Fprintf(w, "## Steps\n\n")
	fmt.Fprintf(w, "| model | N | calls | utterances | p50 s | p95 s | p99 s | max s | whisper.cpp per utterance p50 / p95 s | lost | doubled | DLQ | CPU of sentio, %% of one core | CPU of the machine, %% | load (start → end) | pass |\n")
	fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n")
	for _, m := range names {
		for _, s := range by[m] {
			pass := "yes"
			if !s.pass {
				pass = "**no**"
			}
			fmt.Fprintf(w, "| %s | %d | %d | %d | %s | %s | %s | %s | %s / %s | %d | %d | %d | %.0f | %.0f | %s → %s | %s |\n",
				s.model, s.n, s.calls, s.utterances, secs(s.p50), secs(s.p95), secs(s.p99), secs(s.max), secs(s.asrP50), secs(s.asrP95),
				s.lost, s.doubled, s.dlq, s.cpuProc, s.cpuMachine, s.load1Start, s.load1End, pass)
		}
	}
	fmt.Fprintf(w, "\nA p99 over fewer than 100 utterances is their maximum. Lost: utterances with no result "+
		"when the step ended (its calls' last results are awaited for STEP + 2 min), so under overload late "+
		"rather than dropped. whisper.cpp per utterance: the results' timings_ms.asr. CPU is measured over each "+
		"step's streaming window; the machine's share includes any other work running on it.\n\n## Run\n\n")
	for _, m := range r.meta {
		fmt.Fprintf(w, "- %s\n", m)
	}
}

func main() {
	in := flag.String("in", "", "the benchmark's rows (TSV; SENTIO_CAPACITY_OUT)")
	out := flag.String("out", "", "the directory of capacity.md and capacity.png (default: beside -in)")
	flag.Parse()
	if *in == "" {
		fmt.Fprintln(os.Stderr, "capacity-report: -in is required (the TSV that BenchmarkCapacity wrote)")
		os.Exit(2)
	}
	if *out == "" {
		*out = filepath.Dir(*in)
	}
	if err := report(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "capacity-report:", err)
		os.Exit(1)
	}
}

func report(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := parse(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(r.steps) == 0 {
		return fmt.Errorf("%s has no rows: did the benchmark run (see its log)?", in)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := plotLatency(r, filepath.Join(out, "capacity.png")); err != nil {
		return fmt.Errorf("the plot: %w", err)
	}
	md, err := os.Create(filepath.Join(out, "capacity.md"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(md)
	markdown(w, r, "capacity.png")
	if err := w.Flush(); err != nil {
		md.Close()
		return err
	}
	if err := md.Close(); err != nil {
		return err
	}
	names, by := r.models()
	for _, m := range names {
		fmt.Println(summary(m, by[m], r.bound))
	}
	fmt.Fprintf(os.Stderr, "capacity-report: wrote %s and %s\n", filepath.Join(out, "capacity.md"), filepath.Join(out, "capacity.png"))
	return nil
}
