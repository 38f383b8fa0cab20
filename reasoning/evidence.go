package reasoning

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// evidenceRule is the manifest's "evidence" object: the rule that turns a text's feature
// contributions into evidence spans, and how comprehensiveness and sufficiency are measured. The
// runtime implements the rule of models/reasoning/evidence.py exactly, so what it reports is what
// training measured:
//
//   - margin m_i = c_i[y] - mean over the other labels k of c_i[k], in float64 from the float32
//     contributions (y the predicted label);
//   - selection: features with m_i > 0, sorted by (m_i desc, id asc), the first top_k;
//   - spans: every span of every selected feature, sorted by (start, end), merged while the next
//     start <= the current end; a merged span's weight is the sum of m_i over the distinct selected
//     features with a span inside it; evidence is sorted by start;
//   - words: each merged span is widened to the whole words it overlaps (features.Spec.Words: runs
//     of letters, marks and digits, an apostrophe between two of them included; each CJK
//     character a word by itself), never narrowed; widened spans that then overlap or touch are
//     merged again, their weights added in order, so the weights keep their sum;
//   - comprehensiveness = p_y(text) - p_y(text with each word span replaced by one U+0020);
//   - sufficiency = p_y(the word spans' texts in order, joined with one U+0020).
type evidenceRule struct {
	// TopK is the number of features selected at most.
	TopK int `json:"top_k"`
}

func parseEvidenceRule(raw json.RawMessage) (evidenceRule, error) {
	r := evidenceRule{TopK: 10}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &r); err != nil {
			return r, err
		}
	}
	if r.TopK <= 0 {
		return r, fmt.Errorf("top_k %d must be positive", r.TopK)
	}
	return r, nil
}

// selectEvidence returns the indices of the evidence features (strongest first) and every
// feature's margin. contribs are in graph column order; col is the predicted label's column.
func (r evidenceRule) selectEvidence(feats []Feature, contribs [][3]float32, col int) (sel []int, margins []float64) {
	margins = make([]float64, len(contribs))
	for i, c := range contribs {
		var others float64
		for k := range 3 {
			if k != col {
				others += float64(c[k])
			}
		}
		margins[i] = float64(c[col]) - others/2
		if margins[i] > 0 {
			sel = append(sel, i)
		}
	}
	sort.SliceStable(sel, func(a, b int) bool {
		ma, mb := margins[sel[a]], margins[sel[b]]
		if ma != mb {
			return ma > mb
		}
		return feats[sel[a]].ID < feats[sel[b]].ID
	})
	if len(sel) > r.TopK {
		sel = sel[:r.TopK]
	}
	return sel, margins
}

// evidenceSpans merges the spans of the selected features into evidence over runes (the text's
// code points), sorted by start.
func evidenceSpans(runes []rune, feats []Feature, sel []int, margins []float64) ([]Evidence, error) {
	type span struct{ s, e, f int }
	var spans []span
	for _, i := range sel {
		for _, sp := range feats[i].Spans {
			if sp[0] < 0 || sp[1] > len(runes) || sp[0] >= sp[1] {
				return nil, fmt.Errorf("reasoning: feature %d has span [%d, %d) outside the text's %d code points", feats[i].ID, sp[0], sp[1], len(runes))
			}
			spans = append(spans, span{sp[0], sp[1], i})
		}
	}
	sort.SliceStable(spans, func(a, b int) bool {
		if spans[a].s != spans[b].s {
			return spans[a].s < spans[b].s
		}
		return spans[a].e < spans[b].e
	})
	var out []Evidence
	var members []map[int]bool
	for _, sp := range spans {
		if n := len(out); n > 0 && sp.s <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, sp.e)
			members[n-1][sp.f] = true
			continue
		}
		out = append(out, Evidence{Start: sp.s, End: sp.e})
		members = append(members, map[int]bool{sp.f: true})
	}
	for k := range out {
		// Sum in selection order so the float64 sum is reproducible.
		for _, i := range sel {
			if members[k][i] {
				out[k].Weight += margins[i]
			}
		}
		out[k].Text = string(runes[out[k].Start:out[k].End])
	}
	if out == nil {
		out = []Evidence{}
	}
	return out, nil
}

// snapToWords widens each evidence span (sorted by start, apart) to the whole words it overlaps
// (words: [start, end) code point ranges in order); a span that overlaps no word stays as it is.
// Widened spans that overlap or touch are merged, their weights added in order: the weights keep
// their sum. The texts are taken again from runes.
func snapToWords(runes []rune, ev []Evidence, words [][2]int) []Evidence {
	out := make([]Evidence, 0, len(ev))
	for _, e := range ev {
		start, end := e.Start, e.End
		first := sort.Search(len(words), func(k int) bool { return words[k][1] > start })
		if first < len(words) && words[first][0] < end {
			last := sort.Search(len(words), func(k int) bool { return words[k][0] >= end }) - 1
			start, end = min(start, words[first][0]), max(end, words[last][1])
		}
		if n := len(out); n > 0 && start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, end)
			out[n-1].Weight += e.Weight
			continue
		}
		out = append(out, Evidence{Start: start, End: end, Weight: e.Weight})
	}
	for k := range out {
		out[k].Text = string(runes[out[k].Start:out[k].End])
	}
	return out
}

// withoutEvidence returns the text with each evidence span replaced by one space.
func withoutEvidence(runes []rune, ev []Evidence) string {
	var b strings.Builder
	pos := 0
	for _, e := range ev {
		b.WriteString(string(runes[pos:e.Start]))
		b.WriteByte(' ')
		pos = e.End
	}
	b.WriteString(string(runes[pos:]))
	return b.String()
}

// onlyEvidence returns the evidence spans' texts in order, joined with one space.
func onlyEvidence(ev []Evidence) string {
	parts := make([]string, len(ev))
	for i, e := range ev {
		parts[i] = e.Text
	}
	return strings.Join(parts, " ")
}
