package reasoning

import (
	"container/heap"
	"math"
	"sort"
)

// decodeSearch chooses the generated ids of one text, a step at a time, as Hugging Face
// transformers' generate does (without logits processors). The text runs as rows of the decoder
// batch (one for greedy search, up to num_beams for beam search); each step gets the next-id
// logits of its rows and says which rows run next: src[r] is the row (of those it was given)
// whose cache the new row r continues, tokens[r] the id it appends. It is done when its output
// is settled; a done search's rows leave the batch.
type decodeSearch interface {
	step(logits [][]float32) (src []int, tokens []int64, done bool)
	// result returns the generated ids, the end of sequence left out.
	result() []int64
}

// newSearch returns the search of one text: greedy for beams <= 1, else a beam search of that
// width. maxNew bounds the ids generated (the end of sequence included).
func newSearch(beams, maxNew int, eos int64) decodeSearch {
	if beams <= 1 {
		return &greedySearch{maxNew: maxNew, eos: eos}
	}
	return &beamSearch{nb: beams, maxNew: maxNew, eos: eos, lenPenalty: 1, running: []hyp{{}}, improvable: true}
}

// greedySearch appends the most likely id (the first of equal ones) until the end of sequence or
// maxNew ids.
type greedySearch struct {
	maxNew int
	eos    int64
	out    []int64
}

func (g *greedySearch) step(logits [][]float32) ([]int, []int64, bool) {
	tok := int64(argmaxF32(logits[0]))
	if tok == g.eos {
		return nil, nil, true
	}
	g.out = append(g.out, tok)
	if len(g.out) >= g.maxNew {
		return nil, nil, true
	}
	return []int{0}, []int64{tok}, false
}

func (g *greedySearch) result() []int64 { return g.out }

// hyp is a beam: its generated ids and score (the sum of their log-probabilities while running;
// that sum over its length to the power lenPenalty once finished).
type hyp struct {
	ids   []int64
	score float64
}

// beamSearch is transformers' beam search (GenerationMixin._beam_search, transformers 4.50 to
// 5.x) for one text with its defaults: length_penalty 1.0 and early_stopping False, one
// end-of-sequence id. Each step takes the 2×num_beams best continuations of the running beams
// by summed log-probability; those among the first num_beams that end (the end of sequence, or
// maxNew ids) join the finished hypotheses with their length-normalised score (the best
// num_beams kept), the num_beams best that do not end run on. The search stops when every
// finished slot is taken and the best running beam, normalised at its current length, no longer
// beats the worst finished one, or at maxNew ids; the result is the best finished hypothesis.
type beamSearch struct {
	nb, maxNew int
	eos        int64
	lenPenalty float64
	running    []hyp
	finished   []hyp // sorted by score, best first; at most nb
	gen        int   // ids generated so far
	improvable bool  // transformers' is_early_stop_heuristic_unsatisfied
}

// candidate is a continuation of a running beam.
type candidate struct {
	score float64
	beam  int
	tok   int64
	flat  int // beam*vocab + tok: transformers' order for equal scores
}

// candHeap is a min-heap of the best candidates so far (the worst on top).
type candHeap []candidate

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	if h[i].score != h[j].score {
		return h[i].score < h[j].score
	}
	return h[i].flat > h[j].flat
}
func (h candHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)   { *h = append(*h, x.(candidate)) }
func (h *candHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (b *beamSearch) step(logits [][]float32) ([]int, []int64, bool) {
	k := 2 * b.nb
	h := make(candHeap, 0, k+1)
	for r, row := range logits {
		lse := logSumExp(row)
		base := b.running[r].score - lse
		for v, x := range row {
			c := candidate{score: base + float64(x), beam: r, tok: int64(v), flat: r*len(row) + v}
			if len(h) == k {
				if top := h[0]; c.score < top.score || (c.score == top.score && c.flat > top.flat) {
					continue
				}
				heap.Pop(&h)
			}
			heap.Push(&h, c)
		}
	}
	cands := []candidate(h)
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return cands[i].flat < cands[j].flat
	})
	ends := func(c candidate) bool { return c.tok == b.eos || b.gen+1 >= b.maxNew }
	grow := func(c candidate) []int64 {
		ids := make([]int64, len(b.running[c.beam].ids), len(b.running[c.beam].ids)+1)
		copy(ids, b.running[c.beam].ids)
		if c.tok != b.eos {
			ids = append(ids, c.tok)
		}
		return ids
	}
	// The finished hypotheses, from the first num_beams candidates that end.
	if b.improvable {
		norm := math.Pow(float64(b.gen+1), b.lenPenalty)
		for i, c := range cands {
			if i == b.nb {
				break
			}
			if ends(c) {
				b.finished = append(b.finished, hyp{ids: grow(c), score: c.score / norm})
			}
		}
		sort.SliceStable(b.finished, func(i, j int) bool { return b.finished[i].score > b.finished[j].score })
		if len(b.finished) > b.nb {
			b.finished = b.finished[:b.nb]
		}
	}
	// The running beams: the best num_beams candidates that do not end.
	var next []hyp
	var src []int
	var toks []int64
	allEnd := true
	for _, c := range cands {
		if ends(c) {
			continue
		}
		allEnd = false
		if len(next) < b.nb {
			next = append(next, hyp{ids: grow(c), score: c.score})
			src = append(src, c.beam)
			toks = append(toks, c.tok)
		}
	}
	b.running = next
	b.gen++
	if b.improvable && len(b.finished) == b.nb && len(next) > 0 {
		best := next[0].score / math.Pow(float64(b.gen), b.lenPenalty)
		if !(best > b.finished[len(b.finished)-1].score) {
			b.improvable = false
		}
	}
	if !b.improvable || allEnd || len(next) == 0 {
		return nil, nil, true
	}
	return src, toks, false
}

func (b *beamSearch) result() []int64 {
	if len(b.finished) > 0 {
		return b.finished[0].ids
	}
	if len(b.running) > 0 {
		return b.running[0].ids
	}
	return nil
}

func argmaxF32(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
