package reasoning

import (
	"math"
	"testing"
)

func TestEvaluationScores(t *testing.T) {
	e := NewEvaluation()
	// gold/predicted pairs: neg/neg, neg/neu, neu/neu, neu/neu, pos/neg, pos/pos
	for _, p := range [][2]string{{"negative", "negative"}, {"negative", "neutral"}, {"neutral", "neutral"},
		{"neutral", "neutral"}, {"positive", "negative"}, {"positive", "positive"}} {
		e.Add("en", p[0], p[1], "", "")
	}
	e.Add("zh", "neutral", "neutral", "客观描述", "客观描述")
	s := e.Scores()
	en := s["en"]
	if en.N != 6 || math.Abs(en.Accuracy-4.0/6) > 1e-12 {
		t.Fatalf("en: n %d accuracy %v", en.N, en.Accuracy)
	}
	// negative: tp 1, gold 2, predicted 2 -> 0.5; neutral: tp 2, gold 2, pred 3 -> 0.8; positive: tp 1, gold 2, pred 1 -> 2/3
	want := map[string]float64{"negative": 0.5, "neutral": 0.8, "positive": 2.0 / 3}
	for l, w := range want {
		if math.Abs(en.F1[l]-w) > 1e-12 {
			t.Errorf("F1(%s) = %v, want %v", l, en.F1[l], w)
		}
	}
	if math.Abs(en.MacroF1-(0.5+0.8+2.0/3)/3) > 1e-12 {
		t.Errorf("macro-F1 %v", en.MacroF1)
	}
	if en.Confusion["positive"]["negative"] != 1 || en.Confusion["neutral"]["neutral"] != 2 {
		t.Errorf("confusion %v", en.Confusion)
	}
	if en.Rationale != nil {
		t.Errorf("en has no gold rationales but reports %+v", en.Rationale)
	}
	if s["all"].N != 7 || s["zh"].Rationale == nil || s["zh"].Rationale.ExactMatch != 1 {
		t.Errorf("all %+v zh %+v", s["all"], s["zh"])
	}
}

func TestRougeL(t *testing.T) {
	cases := []struct {
		pred, gold, lang string
		want             float64
	}{
		{"negative medical condition", "negative medical condition", "en", 1},
		{"negative condition", "negative medical condition", "en", 2 * (1.0 * 2 / 3) / (1 + 2.0/3)},
		{"Objective  Description", "objective description", "en", 1},
		{"positive outcome", "negative medical condition", "en", 0},
		{"客观描述", "客观的描述", "zh", 2 * (1.0 * 0.8) / 1.8},
		{"", "x", "en", 0},
	}
	for _, c := range cases {
		if got := RougeL(c.pred, c.gold, c.lang); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("RougeL(%q, %q) = %v, want %v", c.pred, c.gold, got, c.want)
		}
	}
	if RationaleExactMatch("Objective description ", "objective  description") != 1 || RationaleExactMatch("a", "b") != 0 {
		t.Error("exact match")
	}
}

func TestEvidenceByteSpan(t *testing.T) {
	text := "Bệnh nhân 好多了 ok"
	runes := []rune(text)
	for s := 0; s <= len(runes); s++ {
		for e := s; e <= len(runes); e++ {
			bs, be := Evidence{Start: s, End: e}.ByteSpan(text)
			if text[bs:be] != string(runes[s:e]) {
				t.Fatalf("[%d, %d) -> bytes [%d, %d) = %q, want %q", s, e, bs, be, text[bs:be], string(runes[s:e]))
			}
		}
	}
}
