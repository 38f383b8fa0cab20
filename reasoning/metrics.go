package reasoning

import (
	"slices"
	"strings"
	"unicode"

	"github.com/sentio-health/sentio/reasoning/rationale"
)

// Evaluation accumulates gold and predicted labels (and rationales) per language and computes
// the scores `sentio eval` reports.
type Evaluation struct {
	langs map[string]*langEval
}

type langEval struct {
	confusion  [3][3]int // [gold][predicted] in Labels order
	n          int
	rationales int
	exact      float64
	rougeL     float64
	faithN     int
	comp, suff float64
}

// NewEvaluation returns an empty Evaluation.
func NewEvaluation() *Evaluation { return &Evaluation{langs: map[string]*langEval{}} }

// Add records one prediction. goldRationale empty means the record has no gold rationale.
func (e *Evaluation) Add(lang, gold, predicted, goldRationale, predictedRationale string) {
	g, p := slices.Index(Labels, gold), slices.Index(Labels, predicted)
	if g < 0 || p < 0 {
		return
	}
	for _, key := range []string{lang, "all"} {
		le := e.langs[key]
		if le == nil {
			le = &langEval{}
			e.langs[key] = le
		}
		le.confusion[g][p]++
		le.n++
		if goldRationale != "" {
			le.rationales++
			le.exact += RationaleExactMatch(predictedRationale, goldRationale)
			le.rougeL += RougeL(predictedRationale, goldRationale, lang)
		}
	}
}

// AddResult records a Result against the gold label and rationale (empty: none), with its
// faithfulness scores.
func (e *Evaluation) AddResult(gold, goldRationale string, r Result) {
	e.Add(r.Lang, gold, r.Label, goldRationale, r.Rationale)
	if slices.Index(Labels, gold) < 0 {
		return
	}
	for _, key := range []string{r.Lang, "all"} {
		le := e.langs[key]
		le.faithN++
		le.comp += r.Comprehensiveness
		le.suff += r.Sufficiency
	}
}

// LangScores are the scores of one language (or "all").
type LangScores struct {
	// N is the number of records.
	N int `json:"n"`
	// Accuracy is the share of records whose label was predicted.
	Accuracy float64 `json:"accuracy"`
	// MacroF1 is the mean of the per-label F1.
	MacroF1 float64 `json:"macro_f1"`
	// F1 is the F1 of each label.
	F1 map[string]float64 `json:"f1"`
	// Confusion counts records by gold label (outer key) and predicted label (inner key).
	Confusion map[string]map[string]int `json:"confusion"`
	// Rationale scores the rationales against the gold ones, when records carry them.
	Rationale *RationaleScores `json:"rationale,omitempty"`
	// Faithfulness is the mean comprehensiveness and sufficiency of the evidence (AddResult only).
	Faithfulness *Faithfulness `json:"faithfulness,omitempty"`
}

// Faithfulness holds mean faithfulness scores of the evidence.
type Faithfulness struct {
	// Comprehensiveness is the mean drop of the label's probability without the evidence.
	Comprehensiveness float64 `json:"comprehensiveness"`
	// Sufficiency is the mean probability of the label from the evidence alone.
	Sufficiency float64 `json:"sufficiency"`
}

// RationaleScores compares predicted rationales with gold ones.
type RationaleScores struct {
	// N is the number of records with a gold rationale.
	N int `json:"n"`
	// ExactMatch is the share of exact matches (case and spacing ignored).
	ExactMatch float64 `json:"exact_match"`
	// RougeL is the mean ROUGE-L F1 (words; characters for Chinese).
	RougeL float64 `json:"rouge_l"`
}

// Scores returns the scores per language, with "all" for every record together.
func (e *Evaluation) Scores() map[string]LangScores {
	out := map[string]LangScores{}
	for lang, le := range e.langs {
		s := LangScores{N: le.n, F1: map[string]float64{}, Confusion: map[string]map[string]int{}}
		correct := 0
		for g := range 3 {
			row := map[string]int{}
			for p := range 3 {
				row[Labels[p]] = le.confusion[g][p]
			}
			s.Confusion[Labels[g]] = row
			correct += le.confusion[g][g]
		}
		for k := range 3 {
			tp := le.confusion[k][k]
			var gold, pred int
			for j := range 3 {
				gold += le.confusion[k][j]
				pred += le.confusion[j][k]
			}
			f1 := 0.0
			if gold+pred > 0 {
				f1 = 2 * float64(tp) / float64(gold+pred)
			}
			s.F1[Labels[k]] = f1
			s.MacroF1 += f1 / 3
		}
		if le.n > 0 {
			s.Accuracy = float64(correct) / float64(le.n)
		}
		if le.rationales > 0 {
			s.Rationale = &RationaleScores{N: le.rationales, ExactMatch: le.exact / float64(le.rationales),
				RougeL: le.rougeL / float64(le.rationales)}
		}
		if le.faithN > 0 {
			s.Faithfulness = &Faithfulness{Comprehensiveness: le.comp / float64(le.faithN), Sufficiency: le.suff / float64(le.faithN)}
		}
		out[lang] = s
	}
	return out
}

// RationaleExactMatch is 1 when pred and gold are the same phrase, ignoring case and spacing.
func RationaleExactMatch(pred, gold string) float64 {
	norm := func(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }
	if norm(pred) == norm(gold) {
		return 1
	}
	return 0
}

// RougeL is the ROUGE-L F1 of pred against gold: the longest common subsequence of their
// lower-cased tokens, words split on spaces, or characters (spaces dropped) for Chinese (lang zh).
// It matches models/reasoning/rationale.py.
func RougeL(pred, gold, lang string) float64 {
	return rationale.RougeL(rougeTokens(pred, lang), rougeTokens(gold, lang))
}

func rougeTokens(s, lang string) []string {
	s = strings.TrimSpace(strings.ToLower(s))
	if lang == "zh" {
		var out []string
		for _, r := range s {
			if !unicode.IsSpace(r) {
				out = append(out, string(r))
			}
		}
		return out
	}
	return strings.Fields(s)
}
