package redact

import "strings"

// nameRules are the cues of a person's name in one language.
type nameRules struct {
	// titles precede a name (lower case, without a trailing dot); two-word titles are written
	// with a space ("bác sĩ").
	titles map[string]bool
	// intros precede a name ("my name is").
	intros [][]string
	// maxWords is the longest name taken after a cue.
	maxWords int
}

var nameTables = map[string]nameRules{
	"en": {titles: set("mr", "mrs", "ms", "miss", "dr", "doctor", "prof", "professor", "nurse", "mister"),
		intros: [][]string{{"my", "name", "is"}, {"name's"}, {"this", "is"}, {"i'm"}, {"i", "am"}, {"call", "me"}, {"speak", "to"}, {"speaking", "with"}}, maxWords: 2},
	"de": {titles: set("herr", "herrn", "frau", "dr", "doktor", "prof", "professor", "schwester", "pfleger"),
		intros: [][]string{{"ich", "heiße"}, {"mein", "name", "ist"}, {"hier", "ist"}, {"hier", "spricht"}}, maxWords: 2},
	"fr": {titles: set("m", "monsieur", "mme", "madame", "mlle", "mademoiselle", "dr", "docteur", "professeur", "pr"),
		intros: [][]string{{"je", "m'appelle"}, {"mon", "nom", "est"}, {"ici"}, {"c'est"}}, maxWords: 2},
	"vi": {titles: set("ông", "bà", "anh", "chị", "cô", "chú", "bác", "em", "cháu", "bác sĩ", "y tá", "thầy"),
		intros: [][]string{{"tôi", "tên", "là"}, {"tên", "tôi", "là"}, {"tôi", "là"}, {"tên", "là"}, {"em", "tên", "là"}}, maxWords: 4},
}

// notNames are capitalised words that follow a title or intro but are not names.
var notNames = set("i", "doktor", "dr", "doctor", "professor", "prof", "the", "a", "die", "der", "das", "le", "la", "les", "sie", "ich", "vous", "je", "you", "ok", "okay", "yes", "no", "bác", "sĩ")

// names finds person names: after a title or an introduction, a gazetteer first name, a
// Vietnamese surname, a Chinese surname before a title.
func (f *finder) names() {
	if f.lang == "zh" {
		f.zhNames()
		return
	}
	nr, ok := nameTables[f.lang]
	if !ok {
		return
	}
	for k := 0; k < len(f.toks); k++ {
		if !f.free(k) || f.toks[k].kind != kWord {
			continue
		}
		lw := f.low(k)
		j := -1
		switch {
		case nr.titles[lw+" "+f.low(k+1)]:
			j = k + 2
		case nr.titles[lw]:
			j = k + 1
		default:
			for _, p := range nr.intros {
				if e, ok := f.phrase(k, p); ok {
					j = e
					break
				}
			}
		}
		if j >= 0 {
			// Skip a dot and further titles: "Dr. med. Müller", "Herr Dr. Weber".
			for j < len(f.toks) && (f.low(j) == "." || nr.titles[f.low(j)] || f.low(j) == "med") {
				j++
			}
			if e := f.capitalisedRun(j, nr.maxWords); e > j {
				f.addToks(Name, j, e)
				k = e - 1
			}
			continue
		}
		if !capitalised(f.toks[k].text) {
			continue
		}
		if firstNames[lw] || f.lang == "vi" && viSurnames[lw] {
			e := f.capitalisedRun(k, nr.maxWords)
			if e == k || f.lang == "vi" && viSurnames[lw] && !firstNames[lw] && e == k+1 {
				continue // not capitalised as a name, or a surname alone (too often a word)
			}
			f.addToks(Name, k, e)
			k = e - 1
		}
	}
}

// capitalisedRun returns the end of up to n capitalised free words from j.
func (f *finder) capitalisedRun(j, n int) int {
	e := j
	for e < len(f.toks) && e-j < n && f.free(e) && f.toks[e].kind == kWord && capitalised(f.toks[e].text) && !notNames[f.low(e)] &&
		!f.cw.months[f.low(e)] && !f.cw.weekdays[f.low(e)] && !nameTables[f.lang].titles[f.low(e)] {
		e++
	}
	return e
}

// zhTitles follow a Chinese name.
var zhTitles = []string{"先生", "女士", "小姐", "医生", "大夫", "护士", "老师", "教授", "主任", "太太", "阿姨"}

// zhCompoundSurnames are two-character surnames.
var zhCompoundSurnames = set("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "司徒", "夏侯")

// zhTitleAt reports whether a title starts at token k.
func (f *finder) zhTitleAt(k int) bool {
	pair := f.low(k) + f.low(k+1)
	for _, t := range zhTitles {
		if pair == t {
			return true
		}
	}
	return false
}

// zhNotNames are words that start with a surname character but are not names.
var zhNotNames = set("谢谢", "高兴", "方便", "周末", "白天", "马上", "江湖", "黄色", "金钱", "石头", "万一", "何时", "于是", "许多", "常常", "文件", "陆续", "安全", "严重", "万分", "邱比")

// zhNames finds a surname (and given name) before a title (王医生, 王芳女士), and names after
// 我叫, 我姓, 我是.
func (f *finder) zhNames() {
	for k := 0; k+1 < len(f.toks); k++ {
		pair := f.low(k) + f.low(k+1)
		if pair == "我叫" || pair == "我姓" || pair == "我是" {
			e, longest := k+2, 3
			if zhCompoundSurnames[f.low(e)+f.low(e+1)] {
				longest = 4
			}
			for e < len(f.toks) && e-(k+2) < longest && f.free(e) && f.toks[e].kind == kHan && !strings.Contains("，。、！？的了是在呢吧啊", f.low(e)) && !f.zhTitleAt(e) {
				e++
			}
			if e > k+2 && (pair != "我是" || zhSurnames[f.low(k+2)]) && (pair == "我姓" || e-(k+2) >= 2) {
				if pair == "我姓" {
					e = k + 3
				}
				f.addToks(Name, k+2, e)
			}
			continue
		}
		for _, t := range zhTitles {
			if pair != t {
				continue
			}
			for s := k - 3; s < k; s++ {
				if s < 0 || !zhSurnames[f.low(s)] {
					continue
				}
				ok := true
				var w strings.Builder
				for q := s; q < k; q++ {
					ok = ok && f.free(q) && f.toks[q].kind == kHan
					w.WriteString(f.low(q))
				}
				if ok && !zhNotNames[w.String()] && !zhNotNames[f.low(s)+f.low(s+1)] && !zhNotNames[f.low(s-1)+f.low(s)] {
					f.addToks(Name, s, k)
					break
				}
			}
		}
	}
}
