package redact

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// BenchmarkFind measures Find on the synthetic evaluation sentences of each language (one
// sentence per iteration, in turn).
func BenchmarkFind(b *testing.B) {
	r, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, lang := range []string{"vi", "en", "zh", "de", "fr"} {
		f, err := os.Open("testdata/eval/" + lang + ".jsonl")
		if err != nil {
			b.Fatal(err)
		}
		var texts []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var l evalLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				b.Fatal(err)
			}
			texts = append(texts, l.Text)
		}
		f.Close()
		b.Run(lang, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				r.Find(texts[i%len(texts)], lang)
			}
		})
	}
}
