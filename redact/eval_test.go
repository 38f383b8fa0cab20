package redact

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/eval/scores.json with the figures measured now")

// evalLine is one sentence of the evaluation set (written by redact/evalgen).
type evalLine struct {
	ID       string   `json:"id"`
	Lang     string   `json:"lang"`
	Text     string   `json:"text"`
	Entities []Entity `json:"entities"`
}

// counts are the exact-match counts of one language and type.
type counts struct {
	TP, FP, FN int
	// Covered counts the gold entities that a found entity of any type covers whole: what
	// redaction hides even when the type or the span's edges are wrong.
	Covered int
}

// score is what scores.json holds per language and type.
type score struct {
	Gold      int     `json:"gold"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	Covered   float64 `json:"covered"`
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// evaluate runs the redactor over the sentences of the evaluation set in dir (one file per
// language, at least minLines each): scores per language, then type ("ALL" for all types
// together).
func evaluate(t *testing.T, dir string, minLines int) map[string]map[string]score {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil || len(files) != 5 {
		t.Fatalf("the evaluation set is missing (go run ./redact/evalgen): %v %v", files, err)
	}
	c := map[string]map[Type]*counts{}
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			var l evalLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			n++
			if c[l.Lang] == nil {
				c[l.Lang] = map[Type]*counts{}
			}
			get := func(t Type) *counts {
				if c[l.Lang][t] == nil {
					c[l.Lang][t] = &counts{}
				}
				return c[l.Lang][t]
			}
			found := r.Find(l.Text, l.Lang)
			for _, g := range l.Entities {
				hit := false
				for _, p := range found {
					if p == g {
						hit = true
					}
					if p.Start <= g.Start && g.End <= p.End {
						get(g.Type).Covered++
						get("ALL").Covered++
						break
					}
				}
				if hit {
					get(g.Type).TP++
					get("ALL").TP++
				} else {
					get(g.Type).FN++
					get("ALL").FN++
					t.Logf("missed %s %s %q in %q", l.ID, g.Type, string([]rune(l.Text)[g.Start:g.End]), l.Text)
				}
			}
			for _, p := range found {
				hit := false
				for _, g := range l.Entities {
					hit = hit || p == g
				}
				if !hit {
					get(p.Type).FP++
					get("ALL").FP++
					t.Logf("wrong  %s %s %q in %q", l.ID, p.Type, string([]rune(l.Text)[p.Start:p.End]), l.Text)
				}
			}
		}
		f.Close()
		if n < minLines {
			t.Errorf("%s has %d sentences, want at least %d", file, n, minLines)
		}
	}
	out := map[string]map[string]score{}
	for lang, byType := range c {
		out[lang] = map[string]score{}
		for typ, k := range byType {
			gold := k.TP + k.FN
			out[lang][string(typ)] = score{Gold: gold, Precision: ratio(k.TP, k.TP+k.FP), Recall: ratio(k.TP, gold), Covered: ratio(k.Covered, gold)}
		}
	}
	return out
}

// TestEvaluation measures precision and recall per language and type on the committed
// evaluation set, the synthetic sentences and the untuned ones, and fails when a figure drops
// below the committed one (testdata/eval/scores.json; -update rewrites it). -v prints the README
// tables.
func TestEvaluation(t *testing.T) {
	got := map[string]map[string]map[string]score{
		"synthetic": evaluate(t, "testdata/eval", 50),
		"untuned":   evaluate(t, "testdata/eval/untuned", 10),
	}
	path := "testdata/eval/scores.json"
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./redact -run TestEvaluation -args -update)", err)
	}
	var want map[string]map[string]map[string]score
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for set, byLang := range want {
		for lang, byType := range byLang {
			for typ, w := range byType {
				g := got[set][lang][typ]
				if g.Precision < w.Precision-1e-9 || g.Recall < w.Recall-1e-9 || g.Covered < w.Covered-1e-9 {
					t.Errorf("%s %s %s: precision %.3f recall %.3f covered %.3f, below the committed %.3f %.3f %.3f",
						set, lang, typ, g.Precision, g.Recall, g.Covered, w.Precision, w.Recall, w.Covered)
				}
			}
		}
		t.Logf("%s:\n%s", set, table(got[set]))
	}
}

// table renders the scores as the README's Markdown table: a row per type, a column per
// language, "precision / recall (gold count)".
func table(s map[string]map[string]score) string {
	langs := []string{"vi", "en", "zh", "de", "fr"}
	var b strings.Builder
	b.WriteString("| Type | " + strings.Join(langs, " | ") + " |\n|---|" + strings.Repeat("---|", len(langs)) + "\n")
	types := []string{}
	for _, t := range Types {
		types = append(types, string(t))
	}
	sort.Strings(types)
	types = append(types, "ALL")
	for _, typ := range types {
		fmt.Fprintf(&b, "| %s |", typ)
		for _, l := range langs {
			v, ok := s[l][typ]
			if !ok {
				b.WriteString(" – |")
				continue
			}
			fmt.Fprintf(&b, " %.2f / %.2f (%d) |", v.Precision, v.Recall, v.Gold)
		}
		b.WriteString("\n")
	}
	b.WriteString("| covered (any type) |")
	for _, l := range langs {
		fmt.Fprintf(&b, " %.2f |", s[l]["ALL"].Covered)
	}
	b.WriteString("\n")
	return b.String()
}
