package redact

import "strconv"

// finder finds the entities of one text.
type finder struct {
	lang   string
	text   string
	toks   []token
	used   []bool
	cands  []span
	cw     contextWords
	minRun int
}

func newFinder(text, lang string, minRun int) *finder {
	toks := tokenize(text)
	return &finder{lang: lang, text: text, toks: toks, used: make([]bool, len(toks)), cw: contexts[lang], minRun: minRun}
}

// find runs the detectors, most specific first; a token taken by one is not used by the next.
func (f *finder) find() []span {
	for _, s := range patternSpans(f.text) {
		f.add(s.t, s.start, s.end)
	}
	f.alnumIDs()
	switch f.lang {
	case "zh":
		f.zhDates()
	case "vi":
		f.viDates()
	default:
		f.monthDates()
	}
	f.numbers()
	f.names()
	return resolve(f.cands)
}

// add records a candidate span in byte offsets and marks its tokens used.
func (f *finder) add(t Type, start, end int) {
	f.cands = append(f.cands, span{t, start, end})
	for k, tk := range f.toks {
		if tk.start < end && start < tk.end {
			f.used[k] = true
		}
	}
}

// addToks records a candidate covering tokens [i, j).
func (f *finder) addToks(t Type, i, j int) { f.add(t, f.toks[i].start, f.toks[j-1].end) }

func (f *finder) low(k int) string {
	if k < 0 || k >= len(f.toks) {
		return ""
	}
	return f.toks[k].low
}

// free reports whether token k exists and is not taken.
func (f *finder) free(k int) bool { return k >= 0 && k < len(f.toks) && !f.used[k] }

// num reports whether token k is a free number (digits or a number word).
func (f *finder) num(k int) bool {
	if !f.free(k) {
		return false
	}
	ok, _ := isNumberWord(f.lang, f.toks[k])
	return ok
}

// glued reports whether token k follows token k-1 without space.
func (f *finder) glued(k int) bool { return k > 0 && k < len(f.toks) && !f.toks[k].space }

// alnumIDs finds codes mixing letters and at least four digits (A1234567, AB-123-456).
func (f *finder) alnumIDs() {
	for i := 0; i < len(f.toks); {
		if f.used[i] || (f.toks[i].kind != kWord && f.toks[i].kind != kNum) {
			i++
			continue
		}
		j, digits, letters := i, 0, false
		for j < len(f.toks) && !f.used[j] && (j == i || f.glued(j)) {
			tk := f.toks[j]
			if tk.kind == kNum {
				digits += len(tk.low)
			} else if tk.kind == kWord {
				letters = true
			} else if tk.low != "-" && tk.low != "/" || j+1 >= len(f.toks) || !f.glued(j+1) {
				break
			}
			j++
		}
		if digits >= 4 && letters {
			f.addToks(ID, i, j)
		}
		i = max(j, i+1)
	}
}

// runEnd returns the end of the run of number tokens starting at i (separators and joiners
// between two numbers included) and the number of digits it stands for.
func (f *finder) runEnd(i int) (int, int) { return f.runEndStop(i, nil) }

// runEndStop is runEnd with words that end the run after its first token (Vietnamese "năm" is
// five, but "year" after a day or month).
func (f *finder) runEndStop(i int, stop map[string]bool) (int, int) {
	units, last := 0, i
	nw := numberTables[f.lang]
	for k := i; k < len(f.toks); k++ {
		if k > i && stop[f.low(k)] {
			break
		}
		if f.num(k) {
			_, u := isNumberWord(f.lang, f.toks[k])
			units += u
			last = k
			continue
		}
		tk := f.toks[k]
		sep := tk.kind == kPunct && (tk.low == "-" || tk.low == "," || tk.low == "." || tk.low == "/" || tk.low == "(" || tk.low == ")")
		if (sep || nw.joiners[tk.low]) && f.free(k) && f.num(k+1) && !stop[f.low(k+1)] && (f.lang != "zh" || sep && tk.low == "-") {
			continue
		}
		break
	}
	return last + 1, units
}

// value is the value of a run that is one token of digits or one digit word, or -1.
func (f *finder) value(i, j int) int {
	if j != i+1 || f.toks[i].kind != kNum {
		if v, ok := f.wordValue(i, j); ok {
			return v
		}
		return -1
	}
	v, err := strconv.Atoi(f.toks[i].low)
	if err != nil {
		return -1
	}
	return v
}

// wordValue is the value of a one-token digit word or Chinese numeral.
func (f *finder) wordValue(i, j int) (int, bool) {
	if j != i+1 {
		return 0, false
	}
	if v, ok := hanDigits[f.toks[i].low]; ok {
		return v, true
	}
	if nw, ok := numberTables[f.lang]; ok {
		if v, ok := nw.digits[f.toks[i].low]; ok {
			return v, true
		}
	}
	return 0, false
}

// phrase reports whether the lower-case tokens from k on are words; it returns the index after.
func (f *finder) phrase(k int, words []string) (int, bool) {
	for n, w := range words {
		if f.low(k+n) != w {
			return 0, false
		}
	}
	return k + len(words), len(words) > 0
}

// phraseBefore reports whether the tokens just before k are words.
func (f *finder) phraseBefore(k int, words []string) bool {
	_, ok := f.phrase(k-len(words), words)
	return ok && k-len(words) >= 0
}
