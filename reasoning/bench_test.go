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
//	                     callers gathered by the micro-batcher
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

func reportRate(b *testing.B, texts int) {
	b.ReportMetric(float64(texts)/b.Elapsed().Seconds(), "texts/s")
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
			k := 0
			for b.Loop() {
				start := (k * bs) % (len(rows) - bs + 1)
				if _, _, err := c.infer(rows[start : start+bs]); err != nil {
					b.Fatal(err)
				}
				k++
			}
			reportRate(b, k*bs)
		})
	}
}

func BenchmarkPredict(b *testing.B) {
	inputs := benchTexts(b)
	ctx := context.Background()
	b.Run("batch=1", func(b *testing.B) {
		m := openShipped(b, func(o *Options) { o.Config.MaxBatch = 1 })
		k := 0
		for b.Loop() {
			if _, err := m.Predict(ctx, inputs[k%len(inputs)]); err != nil {
				b.Fatal(err)
			}
			k++
		}
		reportRate(b, k)
	})
	b.Run("batch=32", func(b *testing.B) {
		m := openShipped(b, func(o *Options) { o.Config.MaxBatch = 32 })
		k := 0
		for b.Loop() {
			start := (k * 32) % (len(inputs) - 31)
			if _, _, err := m.PredictBatch(ctx, inputs[start:start+32]); err != nil {
				b.Fatal(err)
			}
			k++
		}
		reportRate(b, k*32)
	})
	b.Run("concurrent=32", func(b *testing.B) {
		m := openShipped(b, func(o *Options) { o.Config.MaxBatch = 32; o.Config.MaxWait = 2 * time.Millisecond })
		var mu sync.Mutex
		next := 0
		b.SetParallelism(32) // 32 × GOMAXPROCS callers
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
		reportRate(b, b.N)
		st := m.(*classifier).stats()
		b.ReportMetric(float64(st.texts)/float64(max(st.batches, 1)), "texts/batch")
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
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("bench.py printed %q: %v", sc.Text(), err)
		}
		res[fmt.Sprintf("%s/batch=%d", r.What, r.Batch)] = r.TextsPerS
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
		})
	}
}
