package llm

import (
	"math"
	"strings"
)

// LabelScores returns the probability of each label (in Labels order) read from the
// log-probabilities of the tokens that spell the answer's label, and whether there were any.
//
// content is the answer and label its parsed label. The label's value starts after the quote
// that follows "label"; from the token that reaches that point, each position's candidates
// (top_logprobs, or the sampled token alone) are kept when they continue the text so far
// consistently with some label, and renormalised over those (as a grammar that admits only the
// labels would). A candidate that spells out one label gives that label its mass; the sampled
// token, when it still fits several labels ("n" of negative and neutral), passes its mass on to
// the next position's candidates; another candidate fitting several labels shares its mass
// equally among them.
func LabelScores(content, label string, tokens []TokenLogprob) ([3]float64, bool) {
	var zero [3]float64
	if len(tokens) == 0 {
		return zero, false
	}
	start := labelValueStart(content)
	if start < 0 {
		return zero, false
	}
	// Find the token holding the first character of the label's value; the tokens before it must
	// spell the answer up to there.
	off, i := 0, 0
	for ; i < len(tokens); i++ {
		if off+len(tokens[i].Token) > start {
			break
		}
		if !strings.HasPrefix(content[off:], tokens[i].Token) {
			return zero, false
		}
		off += len(tokens[i].Token)
	}
	if i == len(tokens) || !strings.HasPrefix(tokens[i].Token, content[off:start]) {
		return zero, false
	}
	prefix := content[off:start] // text of the position before the label's value (a quote)
	spelled := ""                // label text spelled by the sampled tokens so far
	var scores [3]float64
	mass := 1.0
	for ; i < len(tokens) && mass > 0; i++ {
		t := tokens[i]
		cands := t.TopLogprobs
		if !containsToken(cands, t.Token) {
			cands = append(cands[:len(cands):len(cands)], TopLogprob{Token: t.Token, Logprob: t.Logprob})
		}
		type fit struct {
			labels []int
			p      float64
		}
		var fits []fit
		total, sampledP := 0.0, 0.0
		var sampled []int
		seen := map[string]bool{}
		for _, c := range cands {
			if seen[c.Token] {
				continue
			}
			seen[c.Token] = true
			rest, ok := strings.CutPrefix(c.Token, prefix)
			if !ok {
				continue
			}
			ls := fitting(spelled + rest)
			if len(ls) == 0 {
				continue
			}
			p := math.Exp(c.Logprob)
			total += p
			if c.Token == t.Token {
				sampled, sampledP = ls, p
				continue
			}
			fits = append(fits, fit{ls, p})
		}
		if total == 0 || sampled == nil {
			return zero, false
		}
		for _, f := range fits {
			for _, l := range f.labels {
				scores[l] += mass * f.p / total / float64(len(f.labels))
			}
		}
		share := mass * sampledP / total
		if len(sampled) == 1 {
			scores[sampled[0]] += share
			mass = 0
			break
		}
		mass = share
		rest, _ := strings.CutPrefix(t.Token, prefix)
		spelled += rest
		prefix = ""
	}
	if mass > 0 { // the tokens ended while still ambiguous: the answer's label takes the rest
		for k, l := range Labels {
			if l == label {
				scores[k] += mass
			}
		}
	}
	sum := scores[0] + scores[1] + scores[2]
	if sum <= 0 {
		return zero, false
	}
	for k := range scores {
		scores[k] /= sum
	}
	return scores, true
}

// fitting returns the labels (indexes into Labels) that the text s may be the start of: s is a
// prefix of `label"`, or starts with it (a token running past the closing quote).
func fitting(s string) []int {
	if s == "" {
		return []int{0, 1, 2}
	}
	var out []int
	for k, l := range Labels {
		q := l + `"`
		if strings.HasPrefix(q, s) || strings.HasPrefix(s, q) {
			out = append(out, k)
		}
	}
	return out
}

func containsToken(cands []TopLogprob, tok string) bool {
	for _, c := range cands {
		if c.Token == tok {
			return true
		}
	}
	return false
}

// labelValueStart is the byte offset of the first character of the label's value in a JSON
// answer (after `"label"`, the colon, spaces and the opening quote), or -1.
func labelValueStart(content string) int {
	k := strings.Index(content, `"label"`)
	if k < 0 {
		return -1
	}
	i := k + len(`"label"`)
	for i < len(content) && strings.IndexByte(" \t\r\n:", content[i]) >= 0 {
		i++
	}
	if i >= len(content) || content[i] != '"' {
		return -1
	}
	return i + 1
}
