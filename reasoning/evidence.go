package reasoning

import (
	"encoding/json"
	"fmt"
	"sort"
)

// evidenceRule selects a text's evidence features from their contributions to the logits; it is
// the manifest's "evidence" object, so the runtime selects exactly what training measured.
type evidenceRule struct {
	// Score is how a feature's weight is computed from its contributions c (one per label):
	// "margin" (default) is c[label] minus the mean of the other labels' c; "label" is c[label].
	Score string `json:"score"`
	// MaxFeatures caps the number of evidence features (default 8).
	MaxFeatures int `json:"max_features"`
	// MinWeight is the smallest weight a feature needs to be evidence (default: greater than 0).
	MinWeight float64 `json:"min_weight"`
}

func parseEvidenceRule(raw json.RawMessage) (evidenceRule, error) {
	r := evidenceRule{Score: "margin", MaxFeatures: 8}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &r); err != nil {
			return r, err
		}
	}
	switch r.Score {
	case "margin", "label":
	default:
		return r, fmt.Errorf("score %q is not margin or label", r.Score)
	}
	if r.MaxFeatures <= 0 {
		return r, fmt.Errorf("max_features %d must be positive", r.MaxFeatures)
	}
	return r, nil
}

// selectEvidence returns the indices of the evidence features among contribs (graph column
// order; labelIdx maps Labels to columns) for the label index label, strongest first, with their
// weights. Ties keep the features' order, so selection is deterministic.
func (r evidenceRule) selectEvidence(contribs [][3]float32, labelIdx [3]int, label int) ([]int, []float64) {
	type cand struct {
		i int
		w float64
	}
	col := labelIdx[label]
	cands := make([]cand, 0, len(contribs))
	for i, c := range contribs {
		w := float64(c[col])
		if r.Score == "margin" {
			var others float64
			for k := range 3 {
				if k != col {
					others += float64(c[k])
				}
			}
			w -= others / 2
		}
		if w > r.MinWeight {
			cands = append(cands, cand{i, w})
		}
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].w > cands[b].w })
	if len(cands) > r.MaxFeatures {
		cands = cands[:r.MaxFeatures]
	}
	idx := make([]int, len(cands))
	ws := make([]float64, len(cands))
	for k, c := range cands {
		idx[k], ws[k] = c.i, c.w
	}
	return idx, ws
}

// evidenceSpans maps evidence features to spans of text: every distinct code-point range
// covered by an evidence feature, weighted by the sum of the weights of the evidence features
// covering exactly that range, strongest first (ties by position).
func evidenceSpans(text string, feats []Feature, sel []int, weights []float64) ([]Evidence, error) {
	runes := []rune(text)
	acc := map[[2]int]float64{}
	for k, i := range sel {
		for _, sp := range feats[i].Spans {
			if sp[0] < 0 || sp[1] > len(runes) || sp[0] >= sp[1] {
				return nil, fmt.Errorf("reasoning: feature %d has span [%d, %d) outside the text's %d code points", feats[i].ID, sp[0], sp[1], len(runes))
			}
			acc[sp] += weights[k]
		}
	}
	out := make([]Evidence, 0, len(acc))
	for sp, w := range acc {
		out = append(out, Evidence{Start: sp[0], End: sp[1], Text: string(runes[sp[0]:sp[1]]), Weight: roundTo(w, 6)})
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Weight != out[b].Weight {
			return out[a].Weight > out[b].Weight
		}
		if out[a].Start != out[b].Start {
			return out[a].Start < out[b].Start
		}
		return out[a].End < out[b].End
	})
	return out, nil
}
