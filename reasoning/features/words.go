package features

// Words returns the words of text as [start, end) code point offsets into it, in order, for
// showing evidence as whole words. A word is each code point in the spec's CJK ranges alone (a
// Chinese word cannot be told without a dictionary; one character is the model's own token), or a
// maximal run of other word characters (general category L*, M* or N*, so combining marks stay in
// their word), with an apostrophe (U+0027 or U+2019) between two of them kept inside
// ("isn't", "aujourd'hui"). Punctuation, symbols and spaces are in no word.
func (s Spec) Words(text []rune) [][2]int {
	var out [][2]int
	inRun := func(i int) bool { return s.isWord(text[i]) && !s.isCJK(text[i]) }
	for i := 0; i < len(text); {
		switch {
		case s.isCJK(text[i]):
			out = append(out, [2]int{i, i + 1})
			i++
		case inRun(i):
			j := i + 1
			for j < len(text) && (inRun(j) || isApostrophe(text[j]) && j+1 < len(text) && inRun(j+1)) {
				j++
			}
			out = append(out, [2]int{i, j})
			i = j
		default:
			i++
		}
	}
	return out
}

func isApostrophe(r rune) bool { return r == '\'' || r == '\u2019' }
