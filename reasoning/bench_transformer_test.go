package reasoning

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sentio-health/sentio/internal/testenv"
)

// BenchmarkTransformer reports texts per second ("texts/s") and CPU per text of the transformer
// kinds on the committed random-weight models (random-cls, random-s2s: tiny graphs of the real
// architectures) and the models trained in models/transformer (classifier, seq2seq), one intra-op
// thread, over the parity fixture's texts cycled:
//
//	<model>/batch=1              Predict, one caller (tokenizer, graphs, rationale)
//	<model>/batch=32             PredictBatch of 32 (length buckets, one micro-batch)
//	<model>/batch=32/occlusion=5 the same with occlusion evidence (a forward pass per word, and two
//	                             for comprehensiveness and sufficiency)
//
// BenchmarkTransformerPython reports Python onnxruntime on the same graphs, driven as
// models/transformer/reference.py drives them (testdata/transformer/bench.py; train toolbox).
//
// Run: SENTIO_TOOLBOX_PROFILE=train toolbox/run go test -run '^$' -bench Transformer -benchtime 3s ./reasoning/
func BenchmarkTransformer(b *testing.B) {
	for _, name := range []string{"random-cls", "random-s2s", "classifier", "seq2seq"} {
		b.Run(name, func(b *testing.B) { benchTransformer(b, name) })
	}
}

func benchTransformer(b *testing.B, name string) {
	{
		var inputs []Input
		for _, r := range readTxFixture(b, txDir(b, name), name) {
			if r.Error == "" {
				inputs = append(inputs, Input{Text: r.Text, Lang: r.Lang})
			}
		}
		single := openTx(b, name, func(o *Options) { o.Config.MaxBatch = 1; o.Config.OcclusionTopK = 0 })
		batched := openTx(b, name, func(o *Options) { o.Config.MaxBatch = 32; o.Config.OcclusionTopK = 0 })
		occl := openTx(b, name, func(o *Options) { o.Config.MaxBatch = 32; o.Config.OcclusionTopK = 5 })
		b.Run("batch=1", func(b *testing.B) { benchOneAtATime(b, single, inputs) })
		b.Run("batch=32", func(b *testing.B) { benchBatches(b, batched, inputs, 32) })
		b.Run("batch=32/occlusion=5", func(b *testing.B) { benchBatches(b, occl, inputs, 32) })
	}
}

// BenchmarkTransformerPython reports Python onnxruntime's texts per second on the same models,
// measured by testdata/transformer/bench.py (its own timing; ns/op here is meaningless).
func BenchmarkTransformerPython(b *testing.B) {
	testenv.RepoRoot(b)
	if _, err := exec.LookPath("python3"); err != nil {
		b.Skip("python3 is not installed (the toolbox has it)")
	}
	for _, name := range []string{"random-cls", "random-s2s", "classifier", "seq2seq"} {
		cmd := exec.Command("python3", filepath.Join("testdata", "transformer", "bench.py"),
			"--model-dir", txDir(b, name), "--fixture", filepath.Join("testdata", "transformer", name+".jsonl.gz"), "--seconds", "3")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			b.Skipf("python3 testdata/transformer/bench.py (needs the train toolbox: SENTIO_TOOLBOX_PROFILE=train): %v\n%s", err, lastLines(errb.String(), 5))
		}
		sc := bufio.NewScanner(&out)
		for sc.Scan() {
			var r struct {
				Batch     int     `json:"batch"`
				TextsPerS float64 `json:"texts_per_s"`
				CPUUs     float64 `json:"cpu_us_per_text"`
			}
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				continue // blank lines of ONNX Runtime's load noise
			}
			b.Run(fmt.Sprintf("%s/batch=%d", name, r.Batch), func(b *testing.B) {
				for b.Loop() {
				}
				b.ReportMetric(r.TextsPerS, "texts/s")
				b.ReportMetric(r.CPUUs, "cpu-µs/text")
			})
		}
	}
}
