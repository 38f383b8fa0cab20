package redact

// frAgeVerbs precede "N ans" when it is an age, not a duration ("j'ai 45 ans", "un enfant de 5
// ans").
var frAgeVerbs = set("j'ai", "a", "as", "avez", "avons", "ont", "avait", "avais", "aura", "de", "d'environ", "fête", "environ")

// frTimeBefore precede "N heures" when it is a clock time, not a duration ("à neuf heures",
// not "pendant deux heures").
var frTimeBefore = set("à", "vers", "avant", "après", "dès", "jusqu'à", "entre", "et", "de", "pour")

// numberKeys make a single number word after them a number ("room number three").
var numberKeys = set("number", "nummer", "numéro", "số", "no", "nr")

// spokenTimes are clock times said with words around the hour, per language: the words before
// the hour ("half past", "halb", "viertel nach").
var spokenTimes = map[string][][]string{
	"en": {{"half", "past"}, {"quarter", "past"}, {"quarter", "to"}},
	"de": {{"halb"}, {"viertel", "nach"}, {"viertel", "vor"}, {"dreiviertel"}},
}

// spokenTime finds a clock time said as "half past four" or "halb zehn" around the number [i, j).
func (f *finder) spokenTime(i, j int) (int, int, bool) {
	for _, p := range spokenTimes[f.lang] {
		if f.phraseBefore(i, p) && f.free(i-len(p)) {
			return i - len(p), j, true
		}
	}
	return i, j, false
}

// enAgeEnds may follow "I am 45" when 45 is an age.
var enAgeEnds = set("", ".", ",", "!", "?", "now", "this", "and", "next", "today")

// numbers finds the runs of numbers not taken yet and gives each a type from its form and the
// words around it; a short run of number words without such words is left alone ("one more
// thing", "three days").
func (f *finder) numbers() {
	for i := 0; i < len(f.toks); i++ {
		if !f.num(i) {
			continue
		}
		j, units := f.runEnd(i)
		f.classify(i, j, units)
		i = j - 1
	}
}

func (f *finder) classify(i, j, units int) {
	words := 0
	digits := false
	for k := i; k < j; k++ {
		if ok, _ := isNumberWord(f.lang, f.toks[k]); ok {
			words++
			digits = digits || f.toks[k].kind == kNum
		}
	}
	unit := f.unit
	if f.lang == "zh" {
		unit = f.zhUnit
	}
	us, ue, ut := unit(i, j)
	if ut != Number {
		f.addToks(ut, us, ue)
		return
	}
	s := i
	if f.low(i-1) == "+" && f.glued(i) && f.free(i-1) {
		s = i - 1
	}
	if !digits && words < f.minRun && !numberKeys[f.low(i-1)] { // "room number three" is a number
		return
	}
	t := Number
	if units >= 6 {
		switch {
		case hasKey(f.cw.idKeys, f.toks, i-6, i):
			t = ID
		case hasKey(f.cw.phoneKeys, f.toks, i-6, i):
			t = Phone
		case units >= 9 && leadingZero(f.lang, f.toks[s]):
			t = Phone
		}
	}
	f.addToks(t, s, j)
}

// unit returns the span and type of a number [i, j) with the words of a time, an age or an
// amount after or before it (en, de, fr, vi); the type is Number when there are none.
func (f *finder) unit(i, j int) (int, int, Type) {
	cw := f.cw
	if s, e, ok := f.spokenTime(i, j); ok {
		return s, e, Time
	}
	if cw.timeAfter[f.low(j)] && f.free(j) && (f.lang != "fr" || frTimeBefore[f.low(i-1)] || f.num(j+1)) {
		e := j + 1
		if f.num(e) {
			if m, _ := f.runEnd(e); m-e <= 3 {
				e = m
			}
			if f.low(e) == "phút" || f.low(e) == "minuten" || f.low(e) == "minutes" {
				e++
			}
		}
		if cw.dayParts[f.low(e)] {
			e++
		}
		if f.lang == "fr" && f.low(e) == "et" && (f.low(e+1) == "demie" || f.low(e+1) == "quart") {
			e += 2
		}
		return i, e, Time
	}
	for _, p := range cw.ageAfter {
		if e, ok := f.phrase(j, p); ok {
			if f.lang == "fr" && !frAgeVerbs[f.low(i-1)] {
				continue
			}
			return i, e, Age
		}
	}
	for _, p := range cw.ageBefore {
		if f.phraseBefore(i, p) {
			if weak := p[0] == "i'm" || len(p) == 2 && (p[1] == "am" || p[1] == "is"); weak {
				if !enAgeEnds[f.low(j)] {
					continue
				}
			}
			return i, j, Age
		}
	}
	if f.free(j) && cw.currency[f.low(j)] {
		return i, j + 1, Amount
	}
	if f.free(i-1) && cw.currency[f.low(i-1)] && f.toks[i-1].kind == kPunct {
		return i - 1, j, Amount
	}
	return i, j, Number
}

// zhUnit is unit for Chinese: 九点(半|十五分), 45岁, 20元, 五十块钱, ¥20.
func (f *finder) zhUnit(i, j int) (int, int, Type) {
	switch f.low(j) {
	case "点":
		one := j == i+1 && f.low(i) == "一"
		e := j + 1
		switch {
		case f.low(e) == "半" || f.low(e) == "钟":
			e++
		case f.num(e):
			if m, _ := f.runEnd(e); f.low(m) == "分" {
				e = m + 1
			}
		}
		if one && e == j+1 && !f.afterDayPart(i) {
			return i, j, Number
		}
		return i, e, Time
	case "岁":
		return i, j + 1, Age
	case "周":
		if f.low(j+1) == "岁" {
			return i, j + 2, Age
		}
	case "元", "块":
		e := j + 1
		if f.low(e) == "钱" {
			e++
		}
		return i, e, Amount
	case "美", "欧":
		if f.low(j+1) == "元" {
			return i, j + 2, Amount
		}
	}
	if f.free(i-1) && (f.low(i-1) == "¥" || f.low(i-1) == "￥") {
		return i - 1, j, Amount
	}
	return i, j, Number
}

// afterDayPart reports whether a Chinese part of the day (上午, 晚上 …) ends just before token i.
func (f *finder) afterDayPart(i int) bool {
	if i < 2 {
		return false
	}
	p := f.toks[i-2].low + f.toks[i-1].low
	for _, d := range zhDayParts {
		if p == d {
			return true
		}
	}
	return false
}
