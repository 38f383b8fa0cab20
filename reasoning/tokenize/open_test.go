package tokenize

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The small test tokenizers committed in reasoning/testdata/tokenize.
var (
	jsonSpec    = Spec{File: "tokenizer.json", Type: TypeTokenizers}
	unigramSpec = Spec{File: "spiece.model", Type: TypeSentencePiece, SuffixIDs: []int64{1}}
)

func openT(t *testing.T, dir string, s Spec) Tokenizer {
	t.Helper()
	tk, err := Open(filepath.Join(fixtureDir, dir), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tk.Close() })
	return tk
}

func TestOpenErrorsNameTheFileAndWhatToDo(t *testing.T) {
	dir := filepath.Join(fixtureDir, "unigram")
	notJSON := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(notJSON, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		dir  string
		spec Spec
		want []string
	}{
		{"no file field", dir, Spec{Type: TypeSentencePiece}, []string{"transformer.tokenizer.file is empty", "model.json"}},
		{"missing file", dir, Spec{File: "nope.model", Type: TypeSentencePiece}, []string{"nope.model", "convert.py"}},
		{"unknown type", dir, Spec{File: "spiece.model", Type: "bpe"}, []string{`type is "bpe"`, "spiece.model", `"sentencepiece"`}},
		{"json as sentencepiece", filepath.Join(fixtureDir, "wordpiece"), Spec{File: "tokenizer.json", Type: TypeSentencePiece}, []string{"tokenizer.json is not a SentencePiece model", `type "tokenizers"`}},
		{"model as tokenizers", dir, Spec{File: "spiece.model", Type: TypeTokenizers}, []string{"spiece.model is not JSON"}},
		{"broken json", filepath.Dir(notJSON), Spec{File: "tokenizer.json", Type: TypeTokenizers}, []string{"is not JSON"}},
		{"negative offset", dir, Spec{File: "spiece.model", Type: TypeSentencePiece, IDOffset: -1}, []string{"id_offset is -1"}},
		{"unigram tokenizer.json", dir, Spec{File: "tokenizer.json", Type: TypeTokenizers}, []string{"Unigram", "spiece.model", `"sentencepiece"`}},
		{"byte fallback bpe", filepath.Join(fixtureDir, "bpe"), Spec{File: "tokenizer.json", Type: TypeTokenizers}, []string{"byte_fallback"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tk, err := Open(c.dir, c.spec)
			if err == nil {
				tk.Close()
				t.Fatal("Open succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestEncodeBelowTheSpecialTokensIsAnError(t *testing.T) {
	for _, c := range []struct {
		dir  string
		spec Spec
	}{{"wordpiece", jsonSpec}, {"unigram", Spec{File: "spiece.model", Type: TypeSentencePiece, PrefixIDs: []int64{0}, SuffixIDs: []int64{1}}}} {
		tk := openT(t, c.dir, c.spec)
		if _, err := tk.Encode("hello", 1); err == nil || !strings.Contains(err.Error(), "max_input_tokens") {
			t.Errorf("%s: Encode(max 1) error %v, want one naming max_input_tokens", c.dir, err)
		}
		ids, err := tk.Encode("hello world", 2)
		if err != nil || len(ids) != 2 {
			t.Errorf("%s: Encode(max 2) = %v, %v; want the two special ids", c.dir, ids, err)
		}
	}
}

func TestSentencePieceDecodeSkipsSpecialsAndRejectsForeignIDs(t *testing.T) {
	tk := openT(t, "unigram", Spec{File: "spiece.model", Type: TypeSentencePiece, PrefixIDs: []int64{0}, SuffixIDs: []int64{2}, IDOffset: 1})
	ids, err := tk.Encode("bác sĩ", 0)
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != 0 || ids[len(ids)-1] != 2 {
		t.Fatalf("Encode = %v, want prefix 0 and suffix 2", ids)
	}
	if s, err := tk.Decode(ids); err != nil || s != "bác sĩ" {
		t.Errorf("Decode(Encode) = %q, %v", s, err)
	}
	if _, err := tk.Decode([]int64{1 << 40}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("Decode(foreign id) error %v, want out of range", err)
	}
}

func TestUseAfterCloseIsAnError(t *testing.T) {
	tk, err := Open(filepath.Join(fixtureDir, "unigram"), unigramSpec)
	if err != nil {
		t.Fatal(err)
	}
	tk.Close()
	if _, err := tk.Encode("x", 0); err == nil {
		t.Error("Encode after Close succeeded")
	}
	if err := tk.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestConcurrentEncodeEqualsSequential runs each backend from several goroutines (go test -race
// checks the sharing) and expects the ids of a sequential run.
func TestConcurrentEncodeEqualsSequential(t *testing.T) {
	texts := loadTexts(t)[:400]
	for _, c := range []struct {
		dir  string
		spec Spec
	}{{"wordpiece", jsonSpec}, {"bytelevel", jsonSpec}, {"unigram", unigramSpec}} {
		tk := openT(t, c.dir, c.spec)
		want := make([][]int64, len(texts))
		for i, s := range texts {
			want[i], _ = tk.Encode(s, 64)
		}
		var wg sync.WaitGroup
		errs := make(chan string, 4*len(texts))
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < len(texts); i += 2 {
					if got, err := tk.Encode(texts[i], 64); err != nil || !slices.Equal(got, want[i]) {
						errs <- c.dir + ": " + clip(texts[i])
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error("concurrent Encode differs:", e)
		}
	}
}
