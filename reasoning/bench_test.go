package reasoning

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sentio-health/sentio/internal/testenv"
)

// The benchmarks report texts per second ("texts/s") on the shipped model with one intra-op
// thread, over the 1000 parity texts (five languages) cycled:
//
//	BenchmarkGraph       the ONNX Runtime call alone (features extracted beforehand), batch 1 and 32
//	BenchmarkPredict     the whole runtime (features, graph, evidence with its two extra rows,
//	                     rationale), one caller at batch 1, PredictBatch of 32, and 32 concurrent
//	                     callers (16 per CPU on this 2-CPU machine) gathered by the micro-batcher
//	BenchmarkPythonORT   Python onnxruntime on the same model and threads (testdata/bench.py),
//	                     graph alone and features+graph, batch 1 and 32
//
// Run: toolbox/run go test -run '^$' -bench . -benchtime 3s ./reasoning/

func benchTexts(b *testing.B) []Input {
	var out []Input
	for _, lang := range parityLangs {
		for _, r := range readParity(b, lang) {
			out = append(out, Input{Text: r.Text, Lang: r.Lang})
		}
	}
	return out
}

// cpuTime returns the process's user plus system CPU time (all threads: Go, ONNX Runtime, GC).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRate reports texts per second of wall time and CPU microseconds per text since cpu0 (the
// latter is robust when other processes share the machine).
func reportRate(b *testing.B, texts int, cpu0 time.Duration) {
	b.ReportMetric(float64(texts)/b.Elapsed().Seconds(), "texts/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(max(texts, 1)), "cpu-µs/text")
}

func BenchmarkGraph(b *testing.B) {
	c := openShipped(b, nil).(*classifier)
	inputs := benchTexts(b)
	rows := make([][]Feature, len(inputs))
	for i, in := range inputs {
		rows[i], _ = c.extract(in.Text)
	}
	for _, bs := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch=%d", bs), func(b *testing.B) {
			k, cpu0 := 0, cpuTime()
			for b.Loop() {
				start := (k * bs) % (len(rows) - bs + 1)
				if _, _, err := c.infer(rows[start:start+bs], true); err != nil {
					b.Fatal(err)
				}
				k++
			}
			reportRate(b, k*bs, cpu0)
		})
	}
}

func BenchmarkPredict(b *testing.B) {
	inputs := benchTexts(b)
	ctx := context.Background()
	single := openShipped(b, func(o *Options) { o.Config.MaxBatch = 1 })
	batched := openShipped(b, func(o *Options) { o.Config.MaxBatch = 32; o.Config.MaxWait = 2 * time.Millisecond })
	b.Run("batch=1", func(b *testing.B) { benchOneAtATime(b, single, inputs) })
	b.Run("batch=32", func(b *testing.B) { benchBatches(b, batched, inputs, 32) })
	b.Run("concurrent=32", func(b *testing.B) {
		m := batched
		before := m.(*classifier).stats()
		var mu sync.Mutex
		next := 0
		b.SetParallelism(16) // 16 × GOMAXPROCS callers
		cpu0 := cpuTime()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				in := inputs[next%len(inputs)]
				next++
				mu.Unlock()
				if _, err := m.Predict(ctx, in); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportRate(b, b.N, cpu0)
		st := m.(*classifier).stats()
		b.ReportMetric(float64(st.texts-before.texts)/float64(max(st.batches-before.batches, 1)), "texts/batch")
	})
}

// pythonBench runs testdata/bench.py once per process and keeps its results.
var pythonBench = sync.OnceValues(func() (map[string]float64, error) {
	root := filepath.Join("..")
	cmd := exec.Command("python3", filepath.Join("testdata", "bench.py"),
		"--model-dir", filepath.Join(root, "models", "reasoning"), "--threads", "1", "--batch", "1", "--batch", "32", "--seconds", "3")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("python3 testdata/bench.py: %v\n%s", err, lastLines(errb.String(), 10))
	}
	res := map[string]float64{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r struct {
			What      string  `json:"what"`
			Batch     int     `json:"batch"`
			TextsPerS float64 `json:"texts_per_s"`
			CPUUs     float64 `json:"cpu_us_per_text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("bench.py printed %q: %v", sc.Text(), err)
		}
		res[fmt.Sprintf("%s/batch=%d", r.What, r.Batch)] = r.TextsPerS
		res[fmt.Sprintf("%s/batch=%d/cpu", r.What, r.Batch)] = r.CPUUs
	}
	return res, nil
})

func lastLines(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" && !strings.Contains(l, ortNoise) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep[max(0, len(keep)-n):], "\n")
}

// BenchmarkPythonORT reports Python onnxruntime's texts per second, measured by testdata/bench.py
// (its own timing; ns/op here is meaningless).
func BenchmarkPythonORT(b *testing.B) {
	testenv.RepoRoot(b)
	if _, err := exec.LookPath("python3"); err != nil {
		b.Skip("python3 is not installed (the toolbox has it)")
	}
	res, err := pythonBench()
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"graph/batch=1", "graph/batch=32", "features+graph/batch=1", "features+graph/batch=32"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
			}
			b.ReportMetric(res[name], "texts/s")
			b.ReportMetric(res[name+"/cpu"], "cpu-µs/text")
		})
	}
}

// benchOneAtATime reasons about inputs one Predict at a time, in turn, and reports texts per
// second (reportRate).
func benchOneAtATime(b *testing.B, m Model, inputs []Input) {
	k, cpu0 := 0, cpuTime()
	for b.Loop() {
		if _, err := m.Predict(context.Background(), inputs[k%len(inputs)]); err != nil {
			b.Fatal(err)
		}
		k++
	}
	reportRate(b, k, cpu0)
}

// benchBatches reasons about inputs in PredictBatch calls of n texts and reports texts per
// second (reportRate).
func benchBatches(b *testing.B, m Model, inputs []Input, n int) {
	k, cpu0 := 0, cpuTime()
	for b.Loop() {
		start := (k * n) % (len(inputs) - n + 1)
		if _, _, err := m.PredictBatch(context.Background(), inputs[start:start+n]); err != nil {
			b.Fatal(err)
		}
		k++
	}
	reportRate(b, k*n, cpu0)
}
