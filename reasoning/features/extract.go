package features

import (
	"slices"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Feature is one hashed n-gram feature of a text.
type Feature struct {
	// ID is the feature id (a row of the model's weight tables).
	ID int64
	// Value is the number of n-gram occurrences in the text with this id.
	Value float32
	// Spans are the distinct [start, end) code point ranges of the original text covered by those
	// occurrences, sorted by start then end.
	Spans [][2]int
}

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// normText is a normalised, lower-cased text with each code point's original range.
type normText struct {
	r          []rune
	start, end []int
}

func ccc(r rune) uint8 {
	if r < 0x300 {
		return 0
	}
	var b [utf8.UTFMax]byte
	n := utf8.EncodeRune(b[:], r)
	return norm.NFC.Properties(b[:n]).CCC()
}

func normalize(text string) normText {
	in := []rune(text)
	out := normText{r: make([]rune, 0, len(in)), start: make([]int, 0, len(in)), end: make([]int, 0, len(in))}
	for i := 0; i < len(in); {
		j := i + 1
		for j < len(in) && ccc(in[j]) != 0 {
			j++
		}
		if j == i+1 && in[i] < 0x300 {
			out.add(in[i], i, j)
		} else {
			for _, r := range norm.NFC.String(string(in[i:j])) {
				out.add(r, i, j)
			}
		}
		i = j
	}
	return out
}

func (n *normText) add(r rune, s, e int) {
	n.r = append(n.r, unicode.ToLower(r))
	n.start = append(n.start, s)
	n.end = append(n.end, e)
}

func (s Spec) isCJK(r rune) bool {
	for _, rg := range s.CJKRanges {
		if r >= rg[0] && r <= rg[1] {
			return true
		}
	}
	return false
}

func (s Spec) isWord(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || s.isCJK(r)
}

// hasher hashes prefix+gram with FNV-1a 64 without building the string.
type hasher uint64

func newHasher(prefix string) hasher {
	h := hasher(fnvOffset64)
	for i := 0; i < len(prefix); i++ {
		h = (h ^ hasher(prefix[i])) * fnvPrime64
	}
	return h
}

func (h hasher) rune(r rune) hasher {
	var b [utf8.UTFMax]byte
	n := utf8.EncodeRune(b[:], r)
	for _, c := range b[:n] {
		h = (h ^ hasher(c)) * fnvPrime64
	}
	return h
}

func (h hasher) str(s string) hasher {
	for i := 0; i < len(s); i++ {
		h = (h ^ hasher(s[i])) * fnvPrime64
	}
	return h
}

type occurrence struct {
	id   int64
	span [2]int
}

// Extract returns the features of text under spec, sorted by id. spec must be valid (ParseSpec
// and LoadSpec validate it).
func Extract(spec Spec, text string) []Feature {
	nt := normalize(text)
	rs := nt.r
	type rng struct{ a, b int }
	const (
		other = iota
		word
		punct
	)
	cls := make([]uint8, len(rs))
	for i, r := range rs {
		switch {
		case spec.isWord(r):
			cls[i] = word
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			cls[i] = punct
		}
	}
	var runs, tokens []rng
	for i := 0; i < len(rs); {
		if cls[i] == punct && spec.PunctTokens {
			tokens = append(tokens, rng{i, i + 1})
			i++
			continue
		}
		if cls[i] != word {
			i++
			continue
		}
		j := i
		for j < len(rs) && cls[j] == word {
			j++
		}
		for k := i; k < j; {
			if spec.isCJK(rs[k]) {
				tokens = append(tokens, rng{k, k + 1})
				k++
				continue
			}
			l := k
			for l < j && !spec.isCJK(rs[l]) {
				l++
			}
			tokens = append(tokens, rng{k, l})
			k = l
		}
		i = j
	}
	inRun := func(c uint8) bool { return c == word || (c == punct && spec.CharRuns == "word_punct") }
	for i := 0; i < len(rs); {
		if !inRun(cls[i]) {
			i++
			continue
		}
		j := i
		for j < len(rs) && inRun(cls[j]) {
			j++
		}
		runs = append(runs, rng{i, j})
		i = j
	}
	occ := make([]occurrence, 0, 2*len(tokens)+4*len(rs))
	wordBase := newHasher(spec.WordPrefix)
	for n := spec.WordNgrams[0]; n <= spec.WordNgrams[1]; n++ {
		for t := 0; t+n <= len(tokens); t++ {
			h := wordBase
			for k := t; k < t+n; k++ {
				if k > t {
					h = h.str(spec.WordJoin)
				}
				for _, r := range rs[tokens[k].a:tokens[k].b] {
					h = h.rune(r)
				}
			}
			id := spec.WordOffset + int64(uint64(h)%spec.WordBuckets)
			occ = append(occ, occurrence{id, [2]int{nt.start[tokens[t].a], nt.end[tokens[t+n-1].b-1]}})
		}
	}
	charBase := newHasher(spec.CharPrefix)
	for _, run := range runs {
		// p = " " + run + " "; position q of p is rune run.a+q-1 for 1 <= q <= len(run).
		plen := run.b - run.a + 2
		at := func(q int) rune {
			if q == 0 || q == plen-1 {
				return ' '
			}
			return rs[run.a+q-1]
		}
		for n := spec.CharNgrams[0]; n <= spec.CharNgrams[1]; n++ {
			for q := 0; q+n <= plen; q++ {
				h := charBase
				for k := q; k < q+n; k++ {
					h = h.rune(at(k))
				}
				first := run.a + max(q-1, 0)
				last := run.a + min(q+n-2, run.b-run.a-1)
				id := spec.CharOffset + int64(uint64(h)%spec.CharBuckets)
				occ = append(occ, occurrence{id, [2]int{nt.start[first], nt.end[last]}})
			}
		}
	}
	slices.SortFunc(occ, func(x, y occurrence) int {
		switch {
		case x.id != y.id:
			return cmpInt64(x.id, y.id)
		case x.span[0] != y.span[0]:
			return x.span[0] - y.span[0]
		default:
			return x.span[1] - y.span[1]
		}
	})
	var out []Feature
	for i := 0; i < len(occ); {
		j := i
		f := Feature{ID: occ[i].id}
		for ; j < len(occ) && occ[j].id == occ[i].id; j++ {
			f.Value++
			if len(f.Spans) == 0 || f.Spans[len(f.Spans)-1] != occ[j].span {
				f.Spans = append(f.Spans, occ[j].span)
			}
		}
		out = append(out, f)
		i = j
	}
	return out
}

func cmpInt64(a, b int64) int {
	if a < b {
		return -1
	}
	return 1
}
