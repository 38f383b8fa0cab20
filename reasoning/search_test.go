package reasoning

import (
	"math"
	"slices"
	"testing"
)

// toyLM is a decoder over a vocabulary of three ids (0 ends the sequence) whose next-id
// probabilities depend on the ids so far.
type toyLM func(prefix []int64) [3]float64

// logits returns log-probabilities as float32 logits.
func (lm toyLM) logits(prefix []int64) []float32 {
	p := lm(prefix)
	return []float32{float32(math.Log(p[0])), float32(math.Log(p[1])), float32(math.Log(p[2]))}
}

// runToy runs a search to the end over lm, each row's prefix kept as the search says.
func runToy(t *testing.T, s decodeSearch, lm toyLM) []int64 {
	t.Helper()
	rows := [][]int64{{}}
	for step := 0; step < 100; step++ {
		lg := make([][]float32, len(rows))
		for i, r := range rows {
			lg[i] = lm.logits(r)
		}
		src, toks, done := s.step(lg)
		if done {
			return s.result()
		}
		next := make([][]int64, len(src))
		for i, r := range src {
			next[i] = append(slices.Clone(rows[r]), toks[i])
		}
		rows = next
	}
	t.Fatal("the search did not end in 100 steps")
	return nil
}

// trap: the likelier first id (1) leads to a long tail, the other (2) ends at once with
// probability 0.9.
var trap = toyLM(func(prefix []int64) [3]float64 {
	switch {
	case len(prefix) == 0:
		return [3]float64{0.0, 0.6, 0.4}
	case prefix[0] == 2:
		return [3]float64{0.9, 0.05, 0.05}
	default:
		return [3]float64{0.3, 0.4, 0.3}
	}
})

func TestGreedySearch(t *testing.T) {
	got := runToy(t, newSearch(1, 5, 0), trap)
	if want := []int64{1, 1, 1, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("greedy = %v, want %v (the most likely id at each step, up to max 5)", got, want)
	}
	ends := toyLM(func(prefix []int64) [3]float64 {
		if len(prefix) == 2 {
			return [3]float64{0.8, 0.1, 0.1}
		}
		return [3]float64{0.1, 0.2, 0.7}
	})
	if got := runToy(t, newSearch(1, 10, 0), ends); !slices.Equal(got, []int64{2, 2}) {
		t.Errorf("greedy = %v, want [2 2] (the end of sequence left out)", got)
	}
}

// TestBeamSearchFindsTheLikelierSequence: a beam of two escapes the greedy trap, since the
// short sequence's length-normalised log-probability, (ln 0.4 + ln 0.9) / 2, beats every
// continuation of the first id.
func TestBeamSearchFindsTheLikelierSequence(t *testing.T) {
	if got := runToy(t, newSearch(2, 5, 0), trap); !slices.Equal(got, []int64{2}) {
		t.Errorf("beam search = %v, want [2]", got)
	}
}

// TestBeamSearchMatchesExhaustiveSearch: with a beam as wide as every sequence, the result is the
// sequence of best length-normalised log-probability among all, found by enumeration.
func TestBeamSearchMatchesExhaustiveSearch(t *testing.T) {
	lm := toyLM(func(prefix []int64) [3]float64 {
		h := uint64(17)
		for _, x := range prefix {
			h = h*31 + uint64(x) + 1
		}
		a := float64(h%7+1) / 10
		b := float64(h%5+1) / 10
		c := float64(h%3+1) / 10
		s := a + b + c
		return [3]float64{a / s, b / s, c / s}
	})
	const maxNew = 4
	best, bestScore := []int64(nil), math.Inf(-1)
	var walk func(prefix []int64, lp float64)
	walk = func(prefix []int64, lp float64) {
		p := lm(prefix)
		for tok := range int64(3) {
			l := lp + float64(float32(math.Log(p[tok])))
			seq := append(slices.Clone(prefix), tok)
			if tok == 0 || len(seq) == maxNew {
				if score := l / float64(len(seq)); score > bestScore {
					out := seq
					if tok == 0 {
						out = prefix
					}
					best, bestScore = slices.Clone(out), score
				}
				continue
			}
			walk(seq, l)
		}
	}
	walk(nil, 0)
	// 31 sequences end within 4 ids, so 32 finished slots never fill (no early stop) and 32 beams
	// keep every running sequence (at most 8) and every continuation (at most 24).
	if got := runToy(t, newSearch(32, maxNew, 0), lm); !slices.Equal(got, best) {
		t.Errorf("beam search = %v, exhaustive best = %v (score %.4f)", got, best, bestScore)
	}
}

func TestBeamSearchStopsAtMaxNew(t *testing.T) {
	never := toyLM(func([]int64) [3]float64 { return [3]float64{0.01, 0.5, 0.49} })
	if got := runToy(t, newSearch(3, 6, 0), never); len(got) != 6 {
		t.Errorf("beam search gave %d ids (%v), want max 6", len(got), got)
	}
}
