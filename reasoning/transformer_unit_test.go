package reasoning

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBucketsSortByLengthAndBoundTheBatch(t *testing.T) {
	rows := [][]int64{make([]int64, 9), make([]int64, 2), make([]int64, 5), make([]int64, 1), make([]int64, 7)}
	got := buckets(rows, 2)
	want := [][]int{{3, 1}, {2, 4}, {0}}
	if len(got) != len(want) {
		t.Fatalf("buckets = %v, want %v", got, want)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("buckets = %v, want %v", got, want)
		}
	}
	// A much longer row starts its own bucket rather than pad the short ones to its length.
	skew := [][]int64{make([]int64, 10), make([]int64, 1), make([]int64, 1), make([]int64, 2)}
	if got := buckets(skew, 8); len(got) != 2 || !slices.Equal(got[0], []int{1, 2, 3}) || !slices.Equal(got[1], []int{0}) {
		t.Errorf("buckets of lengths 10, 1, 1, 2 = %v, want [[1 2 3] [0]]", got)
	}
	ids, mask, n := padRows(rows, got[1], 42)
	if n != 7 || len(ids) != 14 || ids[5] != 42 || ids[6] != 42 || ids[7] != 0 || mask[4] != 1 || mask[5] != 0 || mask[13] != 1 {
		t.Errorf("padRows = %v %v %d: want rows of 7 padded with 42, masks 1 over the ids", ids, mask, n)
	}
}

func TestOcclusionEvidence(t *testing.T) {
	runes := []rune("the pain is much worse")
	words := occlusionWords(runes)
	drops := []float64{0.01, 0.30, -0.02, 0.05, 0.30}
	ev := occlusionEvidence(runes, words, drops, 2)
	if len(ev) != 2 || ev[0].Text != "pain" || ev[1].Text != "worse" || ev[0].Weight != 0.30 {
		t.Fatalf("evidence = %+v, want pain and worse (the two largest drops, in text order)", ev)
	}
	if ev := occlusionEvidence(runes, words, []float64{0, -1, 0, 0, 0}, 5); len(ev) != 0 {
		t.Errorf("no positive drop: evidence = %+v, want none", ev)
	}
	zh := []rune("疼痛消失了")
	if w := occlusionWords(zh); len(w) != 5 {
		t.Errorf("Chinese words = %v, want one per character", w)
	}
}

// writeTxManifest writes a model directory with the files body names (empty files) and model.json.
func writeTxManifest(t *testing.T, body string, files ...string) string {
	t.Helper()
	dir := writeManifest(t, body)
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const s2sManifest = `{"kind": "seq2seq", "version": "1", "labels": ["negative", "neutral", "positive"], "languages": ["en"],
 "transformer": {"tokenizer": {"file": "spiece.model", "type": "sentencepiece"}, "max_input_tokens": 64, "pad_id": 0,
  "onnx": {"encoder": "e.onnx", "decoder": "d.onnx", "decoder_with_past": "p.onnx"},
  "num_layers": 2, "num_heads": 4, "head_dim": 8, "decoder_start_id": 0, "eos_id": 1, "max_output_tokens": 16,
  "output": {"label_strings": {"negative": "negative", "neutral": "neutral", "positive": "positive"}, "separator": ": "}}}`

// TestTransformerManifestErrors: each missing file or bad field is refused by an error naming the
// field (and the file) and saying what to do.
func TestTransformerManifestErrors(t *testing.T) {
	all := []string{"spiece.model", "e.onnx", "d.onnx", "p.onnx"}
	cases := []struct {
		name        string
		body        string
		files       []string
		wantInError []string
	}{
		{"no transformer", `{"kind": "encoder-classifier", "labels": ["negative", "neutral", "positive"], "languages": ["en"]}`, nil,
			[]string{`"transformer"`, "convert.py"}},
		{"missing decoder_with_past", s2sManifest, all[:3], []string{"transformer.onnx.decoder_with_past", "p.onnx", "convert.py"}},
		{"missing tokenizer", s2sManifest, all[1:], []string{"transformer.tokenizer.file", "spiece.model"}},
		{"no num_layers", strings.Replace(s2sManifest, `"num_layers": 2`, `"num_layers": 0`, 1), all, []string{"transformer.num_layers", "config.json"}},
		{"no eos", strings.Replace(s2sManifest, `"eos_id": 1,`, ``, 1), all, []string{"transformer.eos_id"}},
		{"prompt without text", strings.Replace(s2sManifest, `"max_output_tokens": 16,`, `"max_output_tokens": 16, "prompt": "classify:",`, 1), all, []string{"transformer.prompt", "{text}"}},
		{"label string missing", strings.Replace(s2sManifest, `"neutral": "neutral", `, ``, 1), all, []string{"transformer.output.label_strings", `"neutral"`}},
		{"two labels", strings.Replace(s2sManifest, `"neutral", "positive"]`, `"positive"]`, 1), all, []string{"labels", "negative"}},
		{"no languages", strings.Replace(s2sManifest, `"languages": ["en"],`, ``, 1), all, []string{`"languages"`}},
		{"context too small", strings.Replace(s2sManifest, `"max_input_tokens": 64`, `"max_input_tokens": 1`, 1), all, []string{"transformer.max_input_tokens"}},
		{"classifier without graph", `{"kind": "encoder-classifier", "labels": ["negative", "neutral", "positive"], "languages": ["en"],
		  "transformer": {"tokenizer": {"file": "spiece.model", "type": "sentencepiece"}, "max_input_tokens": 64, "onnx": {"model": "m.onnx"}}}`,
			all[:1], []string{"transformer.onnx.model", "m.onnx"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeTxManifest(t, c.body, c.files...)
			_, err := Open(dir, Options{})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			for _, w := range append(c.wantInError, filepath.Join(dir, ManifestFile)) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
