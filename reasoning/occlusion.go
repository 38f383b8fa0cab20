package reasoning

import "sort"

// occlusionEvidence is the evidence of a model that is not additive (the transformer kinds),
// measured by occlusion: words[i] (code point offsets into runes) is dropped from the text, the
// text without it scored again, and drops[i] is how much the predicted label's probability fell.
// The evidence are the words with a positive drop, the topK largest (ties: the earlier word), as
// spans sorted by start, each weighing its drop; words apart stay apart. Comprehensiveness and
// sufficiency are then measured on them as for the n-gram kind (withoutEvidence, onlyEvidence).
func occlusionEvidence(runes []rune, words [][2]int, drops []float64, topK int) []Evidence {
	idx := make([]int, 0, len(words))
	for i, d := range drops {
		if d > 0 {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return drops[idx[a]] > drops[idx[b]] })
	if len(idx) > topK {
		idx = idx[:topK]
	}
	sort.Ints(idx)
	out := make([]Evidence, len(idx))
	for k, i := range idx {
		w := words[i]
		out[k] = Evidence{Start: w[0], End: w[1], Text: string(runes[w[0]:w[1]]), Weight: drops[i]}
	}
	return out
}
