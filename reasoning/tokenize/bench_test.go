package tokenize

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchTokenizers are the tokenizers the benchmarks run: one per backend and model type.
var benchTokenizers = []struct {
	name, dir string
	spec      Spec
}{
	{"sentencepiece-unigram", "unigram", unigramSpec},
	{"sentencepiece-bpe", "bpe", Spec{File: "spiece.model", Type: TypeSentencePiece, PrefixIDs: []int64{1}, SuffixIDs: []int64{2}}},
	{"tokenizers-wordpiece", "wordpiece", jsonSpec},
	{"tokenizers-bytelevel", "bytelevel", jsonSpec},
}

// benchTexts are the fixtures' data texts (no long or synthetic ones): what the daemon sees.
func benchTexts(t testing.TB) []string {
	return loadTexts(t)[100:2100]
}

// BenchmarkEncode measures Encode(text, 256) per tokenizer; ns/op is per text.
func BenchmarkEncode(b *testing.B) {
	texts := benchTexts(b)
	for _, bt := range benchTokenizers {
		b.Run(bt.name, func(b *testing.B) {
			tk, err := Open(filepath.Join(fixtureDir, bt.dir), bt.spec)
			if err != nil {
				b.Fatal(err)
			}
			defer tk.Close()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := tk.Encode(texts[i%len(texts)], 256); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// pythonBench times the same texts with Python tokenizers / sentencepiece (one thread, as Go).
const pythonBench = `
import json, sys, time
texts = json.load(sys.stdin)
out = {}
import sentencepiece as spm
from tokenizers import Tokenizer
for name, path, kind in json.loads(sys.argv[1]):
    if kind == "sentencepiece":
        sp = spm.SentencePieceProcessor(model_file=path)
        f = lambda t: sp.encode(t)
    else:
        tk = Tokenizer.from_file(path)
        tk.enable_truncation(max_length=256)
        f = lambda t: tk.encode(t).ids
    for t in texts[:200]:
        f(t)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < 2:
        for t in texts:
            f(t)
        n += len(texts)
    out[name] = n / (time.perf_counter() - start)
print(json.dumps(out))
`

// TestSpeedVsPython prints texts per second of Go and of Python for the same texts and
// tokenizers, side by side. It needs Python with tokenizers and sentencepiece (the train
// toolbox): SENTIO_TOKENIZE_PYTHON=python3 go test -run SpeedVsPython ./reasoning/tokenize.
func TestSpeedVsPython(t *testing.T) {
	py := os.Getenv("SENTIO_TOKENIZE_PYTHON")
	if py == "" {
		t.Skip("set SENTIO_TOKENIZE_PYTHON=python3 (with tokenizers and sentencepiece, e.g. in the train toolbox) to compare speeds")
	}
	texts := benchTexts(t)
	var specs []string
	for _, bt := range benchTokenizers {
		path, _ := filepath.Abs(filepath.Join(fixtureDir, bt.dir, bt.spec.File))
		specs = append(specs, `["`+bt.name+`","`+path+`","`+bt.spec.Type+`"]`)
	}
	in, _ := jsonMarshal(texts)
	cmd := exec.Command(py, "-c", pythonBench, "["+strings.Join(specs, ",")+"]")
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var pyRate map[string]float64
	if err := jsonUnmarshal(out, &pyRate); err != nil {
		t.Fatalf("python output %q: %v", out, err)
	}
	t.Logf("%-24s %12s %12s %7s", "tokenizer (Encode, max 256)", "Go texts/s", "Py texts/s", "Go/Py")
	for _, bt := range benchTokenizers {
		tk, err := Open(filepath.Join(fixtureDir, bt.dir), bt.spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts[:200] {
			tk.Encode(s, 256)
		}
		n, start := 0, time.Now()
		for time.Since(start) < 2*time.Second {
			for _, s := range texts {
				tk.Encode(s, 256)
			}
			n += len(texts)
		}
		rate := float64(n) / time.Since(start).Seconds()
		tk.Close()
		t.Logf("%-27s %12.0f %12.0f %7.2f", bt.name, rate, pyRate[bt.name], rate/pyRate[bt.name])
	}
}
