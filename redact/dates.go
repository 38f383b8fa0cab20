package redact

// ordinalSuffixes follow digits in a written ordinal (3rd, 1er, 2e).
var ordinalSuffixes = set("st", "nd", "rd", "th", "er", "e", "ème", "re")

// dayBefore returns the first token of a day written or spoken just before token k (3, 3rd,
// third, twenty-first, 3., trois), or k when there is none.
func (f *finder) dayBefore(k int) int {
	j := k - 1
	if j >= 0 && f.cw.dateLinks[f.low(j)] && f.free(j) {
		// "3rd of March", "3. März": the link counts only with a day before it.
		if d := f.dayBefore(j); d < j {
			return d
		}
		if f.low(j) == "the" {
			return k
		}
	}
	switch {
	case f.free(j) && ordinalSuffixes[f.low(j)] && f.glued(j) && f.toks[j-1].kind == kNum && !f.used[j-1]:
		return j - 1
	case f.free(j) && isOrdinal(f.lang, f.toks[j]):
		s := j
		for s-2 >= 0 && f.low(s-1) == "-" && f.num(s-2) {
			s -= 2
		}
		return s
	case f.num(j):
		s := j
		for n := 0; n < 3 && s-1 >= 0 && (f.num(s-1) || f.low(s-1) == "-" && f.num(s-2)); n++ {
			s--
		}
		if f.toks[s].low == "-" {
			s++
		}
		if v := f.value(s, j+1); v > 31 {
			return k
		}
		return s
	}
	return k
}

// dayAfter returns the end of a day said just after token k-1 (English "March 3rd", "March the
// third"), or k when there is none.
func (f *finder) dayAfter(k int) int {
	j := k
	if f.low(j) == "the" {
		j++
	}
	switch {
	case f.free(j) && f.toks[j].kind == kNum && len(f.toks[j].low) <= 2:
		if ordinalSuffixes[f.low(j+1)] && f.glued(j+1) {
			return j + 2
		}
		return j + 1
	case f.free(j) && isOrdinal(f.lang, f.toks[j]):
		return j + 1
	case f.num(j) && f.toks[j].kind == kWord:
		e, _ := f.runEnd(j)
		if e < len(f.toks) && f.low(e) == "-" && f.free(e+1) && isOrdinal(f.lang, f.toks[e+1]) {
			return e + 2
		}
		if e-j <= 3 {
			return e
		}
	}
	return k
}

// yearAfter returns the end of a four-digit year after token k-1 (a comma may come first).
func (f *finder) yearAfter(k int) int {
	j := k
	if f.low(j) == "," {
		j++
	}
	if f.free(j) && f.toks[j].kind == kNum && len(f.toks[j].low) == 4 {
		return j + 1
	}
	return k
}

// monthDates finds dates around month names and weekdays (en, de, fr).
func (f *finder) monthDates() {
	for m := range f.toks {
		if !f.free(m) || f.toks[m].kind != kWord {
			continue
		}
		lw := f.low(m)
		if f.cw.weekdays[lw] {
			s, e := m, m+1
			if d := f.dayAfter(e); d > e && f.lang == "en" {
				e = d
			}
			f.addToks(Date, s, e)
			continue
		}
		if !f.cw.months[lw] || (f.lang == "en" && !capitalised(f.toks[m].text)) {
			continue
		}
		s, e := f.dayBefore(m), m+1
		if s == m && f.lang == "en" {
			e = f.dayAfter(e)
		}
		e = f.yearAfter(e)
		if s == m && e == m+1 && f.cw.ambiguous[lw] {
			continue
		}
		f.addToks(Date, s, e)
	}
}

// viWeekdays follow "thứ" in a weekday.
var viWeekdays = set("hai", "ba", "tư", "năm", "sáu", "bảy", "2", "3", "4", "5", "6", "7")

// viDates finds Vietnamese dates: ngày 3 tháng 3 năm 2024, mùng ba, tháng ba, năm 1985, thứ hai,
// chủ nhật.
func (f *finder) viDates() {
	for k := 0; k < len(f.toks); k++ {
		if !f.free(k) {
			continue
		}
		switch lw := f.low(k); {
		case lw == "thứ" && f.free(k+1) && viWeekdays[f.low(k+1)]:
			f.addToks(Date, k, k+2)
		case lw == "chủ" && f.low(k+1) == "nhật":
			f.addToks(Date, k, k+2)
		case lw == "ngày" || lw == "mùng" || lw == "mồng" || lw == "tháng" || lw == "năm":
			e := f.viDatePart(k)
			if e == k {
				continue
			}
			for {
				n := f.viDatePart(e)
				if n == e {
					break
				}
				e = n
			}
			f.addToks(Date, k, e)
			k = e - 1
		}
	}
}

// viDateWords start the next part of a Vietnamese date.
var viDateWords = set("ngày", "tháng", "năm")

// viDatePart returns the end of one part of a Vietnamese date starting at token k (ngày N,
// mùng N, tháng N, năm NNNN), or k.
func (f *finder) viDatePart(k int) int {
	lw := f.low(k)
	if !f.free(k) || !viDateWords[lw] && lw != "mùng" && lw != "mồng" {
		return k
	}
	j := k + 1
	if lw == "ngày" && (f.low(j) == "mùng" || f.low(j) == "mồng") {
		j++
	}
	if !f.num(j) {
		return k
	}
	e, units := f.runEndStop(j, viDateWords)
	v := f.value(j, e)
	switch lw {
	case "ngày", "mùng", "mồng":
		if v > 31 || e-j > 3 {
			return k
		}
	case "tháng":
		if v > 12 || e-j > 2 {
			return k
		}
	case "năm":
		if units < 4 {
			return k
		}
	}
	return e
}

// zhDayParts precede a clock time and make 一点 one o'clock rather than "a little".
var zhDayParts = []string{"上午", "下午", "早上", "晚上", "中午", "凌晨", "傍晚", "夜里"}

// zhDates finds Chinese dates: 2024年3月3日, 三月三号, 星期一, 周一, 礼拜天.
func (f *finder) zhDates() {
	for k := 0; k < len(f.toks); k++ {
		if !f.free(k) {
			continue
		}
		lw := f.low(k)
		if (lw == "星" && f.low(k+1) == "期" || lw == "礼" && f.low(k+1) == "拜") && f.free(k+2) && zhWeekday[f.low(k+2)] {
			f.addToks(Date, k, k+3)
			continue
		}
		if lw == "周" && f.free(k+1) && zhWeekday[f.low(k+1)] && f.low(k+1) != "天" {
			f.addToks(Date, k, k+2)
			continue
		}
		if !f.num(k) {
			continue
		}
		s, e := k, k
		for {
			n := f.zhDatePart(e)
			if n == e {
				break
			}
			e = n
		}
		if e > s {
			f.addToks(Date, s, e)
			k = e - 1
		}
	}
}

var zhWeekday = set("一", "二", "三", "四", "五", "六", "日", "天")

// zhDatePart returns the end of one part of a Chinese date starting at token k (N年, N月, N日,
// N号), or k.
func (f *finder) zhDatePart(k int) int {
	if !f.num(k) {
		return k
	}
	e, units := f.runEnd(k)
	switch f.low(e) {
	case "年":
		if units == 4 {
			return e + 1
		}
	case "月":
		if f.low(k-1) != "个" {
			return e + 1
		}
	case "日":
		return e + 1
	case "号":
		if f.low(e+1) != "码" {
			return e + 1
		}
	}
	return k
}
