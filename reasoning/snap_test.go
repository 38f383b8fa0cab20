package reasoning

import (
	"context"
	"math"
	"testing"

	"github.com/sentio-health/sentio/reasoning/features"
)

var testSpec = features.Spec{CJKRanges: [][2]rune{{0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xF900, 0xFAFF}, {0x20000, 0x3FFFF}}}

// TestSnapToWords widens hand-written n-gram spans to whole words: a character n-gram inside a
// word becomes the word, spans that meet in a word merge with their weights added, a span with no
// letter stays, Chinese characters are words already; offsets stay code point offsets.
func TestSnapToWords(t *testing.T) {
	type ev struct {
		text       string
		start, end int
		weight     float64
	}
	for _, c := range []struct {
		text    string
		in, out []ev
	}{{
		text: "The nurse was kind today.",
		in:   []ev{{"kin", 14, 17, 0.5}, {"ay.", 22, 25, 0.25}},
		out:  []ev{{"kind", 14, 18, 0.5}, {"today.", 19, 25, 0.25}},
	}, {
		text: "I am scared, the treatment isn't working.",
		in:   []ev{{"sc", 5, 7, 0.047}, {"ed, the", 9, 16, 0.155}, {"'t", 30, 32, 0.119}},
		out:  []ev{{"scared, the", 5, 16, 0.047 + 0.155}, {"isn't", 27, 32, 0.119}},
	}, {
		// "iệm" and "ng" inside "nghiệm" (offsets in code points: "ệ" is one), "Tô" inside "Tôi"
		text: "Tôi đã thử nghiệm thuốc mới.",
		in:   []ev{{"Tô", 0, 2, 0.05}, {"ng", 11, 13, 0.01}, {"iệm", 14, 17, 0.04}, {"c m", 22, 25, 0.02}},
		out:  []ev{{"Tôi", 0, 3, 0.05}, {"nghiệm", 11, 17, 0.01 + 0.04}, {"thuốc mới", 18, 27, 0.02}},
	}, {
		// decomposed (NFD): the combining marks belong to the word
		text: "nghie\u0323\u0302m",
		in:   []ev{{"e\u0323\u0302m", 4, 8, 0.3}},
		out:  []ev{{"nghie\u0323\u0302m", 0, 8, 0.3}},
	}, {
		text: "医生很耐心，我现在好多了。",
		in:   []ev{{"医生很", 0, 3, 0.27}, {"在好多了。", 8, 13, 0.6}},
		out:  []ev{{"医生很", 0, 3, 0.27}, {"在好多了。", 8, 13, 0.6}},
	}, {
		text: "Good !! yes",
		in:   []ev{{"!!", 5, 7, 0.1}},
		out:  []ev{{"!!", 5, 7, 0.1}},
	}} {
		runes := []rune(c.text)
		var in []Evidence
		var sum float64
		for _, e := range c.in {
			if got := string(runes[e.start:e.end]); got != e.text {
				t.Fatalf("test case %q: [%d, %d) is %q, not %q", c.text, e.start, e.end, got, e.text)
			}
			in = append(in, Evidence{Start: e.start, End: e.end, Text: e.text, Weight: e.weight})
			sum += e.weight
		}
		got := snapToWords(runes, in, testSpec.Words(runes))
		if len(got) != len(c.out) {
			t.Errorf("%q: %+v, want %+v", c.text, got, c.out)
			continue
		}
		var gotSum float64
		for k, w := range c.out {
			g := got[k]
			if g.Text != w.text || g.Start != w.start || g.End != w.end || math.Abs(g.Weight-w.weight) > 1e-12 {
				t.Errorf("%q: span %d is %q [%d, %d) %v, want %q [%d, %d) %v", c.text, k, g.Text, g.Start, g.End, g.Weight, w.text, w.start, w.end, w.weight)
			}
			if string(runes[g.Start:g.End]) != g.Text {
				t.Errorf("%q: span %d's text %q is not the transcript's [%d, %d)", c.text, k, g.Text, g.Start, g.End)
			}
			gotSum += g.Weight
		}
		if math.Abs(gotSum-sum) > 1e-12 {
			t.Errorf("%q: weights sum to %v, want %v", c.text, gotSum, sum)
		}
	}
}

// TestEvidenceWholeWordsShipped runs the shipped model on Vietnamese and English sentences whose
// evidence cut words before spans were snapped (listed: what the model published then), and wants
// whole words, the same weight sum, and offsets that slice the text to the span's text.
func TestEvidenceWholeWordsShipped(t *testing.T) {
	m := openShipped(t, nil)
	for _, c := range []struct {
		in Input
		// before: the evidence published before snapping, for the record; after: the word spans
		before, after []string
		weightSum     float64 // the sum of the weights before (and after) snapping
	}{{
		in:        Input{Lang: "vi", Text: "Tôi đã thử nghiệm thuốc mới và cảm thấy đau hơn nhiều."},
		before:    []string{"Tô", "nghiệm thuốc", "và", "cảm", "hơn nhiều."},
		after:     []string{"Tôi", "nghiệm thuốc", "và", "cảm", "hơn nhiều."},
		weightSum: 0.5970260617905296,
	}, {
		in:        Input{Lang: "vi", Text: "Bác sĩ rất tận tình, tôi cảm thấy yên tâm và khỏe hơn."},
		before:    []string{"Bác sĩ", "rất", "tô", "ảm", "và", "khỏe", "hơn."},
		after:     []string{"Bác sĩ", "rất", "tôi", "cảm", "và", "khỏe", "hơn."},
		weightSum: 0.6614108033390949,
	}, {
		in:        Input{Lang: "en", Text: "I am scared, the treatment isn't working and nobody calls me back."},
		before:    []string{"I", "sc", "ed, the", "'t", "back"},
		after:     []string{"I", "scared, the", "isn't", "back"},
		weightSum: 0.49712919693047297,
	}} {
		r, err := m.Predict(context.Background(), c.in)
		if err != nil {
			t.Fatal(err)
		}
		runes := []rune(c.in.Text)
		words := testSpec.Words(runes)
		var got []string
		var sum float64
		for _, e := range r.Evidence {
			got = append(got, e.Text)
			sum += e.Weight
			if string(runes[e.Start:e.End]) != e.Text {
				t.Errorf("%q: evidence %q does not slice the text at [%d, %d)", c.in.Text, e.Text, e.Start, e.End)
			}
			for _, w := range words {
				if w[0] < e.Start && e.Start < w[1] || w[0] < e.End && e.End < w[1] {
					t.Errorf("%q: evidence %q [%d, %d) cuts the word %q", c.in.Text, e.Text, e.Start, e.End, string(runes[w[0]:w[1]]))
				}
			}
		}
		if len(got) != len(c.after) {
			t.Errorf("%q: evidence %q, want %q (before snapping: %q)", c.in.Text, got, c.after, c.before)
		} else {
			for k := range got {
				if got[k] != c.after[k] {
					t.Errorf("%q: evidence %q, want %q (before snapping: %q)", c.in.Text, got, c.after, c.before)
					break
				}
			}
		}
		if math.Abs(sum-c.weightSum) > 1e-9 {
			t.Errorf("%q: weights sum to %v, want %v as before snapping", c.in.Text, sum, c.weightSum)
		}
	}
}
