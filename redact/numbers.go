package redact

import "regexp"

// numberWords are the spoken numbers of one language.
type numberWords struct {
	// digits are the words for one digit (as said in a phone number), with their value.
	digits map[string]int
	// repeat are the words that repeat the next digit ("double three").
	repeat map[string]int
	// cardinal matches any other number word (lower case): teens, tens, hundreds, compounds.
	cardinal *regexp.Regexp
	// ordinal matches an ordinal word as used in dates ("third", "dritten", "premier").
	ordinal *regexp.Regexp
	// joiners may stand between two number words of one number ("and", "und", "et").
	joiners map[string]bool
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

func digitMap(words ...string) map[string]int {
	m := map[string]int{}
	for i, w := range words {
		if w != "" {
			m[w] = i % 10
		}
	}
	return m
}

var numberTables = map[string]numberWords{
	"en": {
		digits:   digitMap("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh"),
		repeat:   map[string]int{"double": 2, "triple": 3},
		cardinal: regexp.MustCompile(`^(ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million)$`),
		ordinal:  regexp.MustCompile(`^(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth)$`),
		joiners:  set("and"),
	},
	"de": {
		digits:   digitMap("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zwo"),
		repeat:   map[string]int{"doppel": 2},
		cardinal: regexp.MustCompile(`^((ein|zwei|drei|vier|fünf|sechs|sieben|acht|neun)?(hundert|tausend))*((ein|zwei|drei|vier|fünf|sechs|sieben|acht|neun)und)?(zehn|elf|zwölf|dreizehn|vierzehn|fünfzehn|sechzehn|siebzehn|achtzehn|neunzehn|zwanzig|dreißig|vierzig|fünfzig|sechzig|siebzig|achtzig|neunzig|hundert|tausend|eins|zwei|drei|vier|fünf|sechs|sieben|acht|neun)$`),
		ordinal:  regexp.MustCompile(`^(erst|zweit|dritt|viert|fünft|sechst|siebt|acht|neunt|zehnt|elft|zwölft|(drei|vier|fünf|sech|sieb|acht|neun)zehnt|((ein|zwei|drei|vier|fünf|sechs|sieben|acht|neun)und)?(zwanzig|dreißig)st)(e|en|er|es|em)$`),
		joiners:  set(),
	},
	"fr": {
		digits:   digitMap("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"),
		cardinal: regexp.MustCompile(`^(une|dix|onze|douze|treize|quatorze|quinze|seize|vingt|vingts|trente|quarante|cinquante|soixante|cent|cents|mille)$`),
		ordinal:  regexp.MustCompile(`^(premier|première|er|ère)$`),
		joiners:  set("et"),
	},
	"vi": {
		digits:   digitMap("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"),
		cardinal: regexp.MustCompile(`^(linh|lẻ|mười|mươi|mốt|lăm|nhăm|tư|trăm|nghìn|ngàn|triệu|rưỡi)$`),
		ordinal:  regexp.MustCompile(`^(nhất)$`),
		joiners:  set(),
	},
}

// hanDigits are the Chinese characters for one digit (幺 is "one" read in phone numbers).
var hanDigits = map[string]int{"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}

// hanCardinal are the Chinese characters of larger numbers.
var hanCardinal = set("十", "百", "千", "万", "半")

// isNumberWord reports whether token t is a number (digits or a number word) in language lang,
// and how many digits it stands for (a repeat word counts its extra repetitions).
func isNumberWord(lang string, t token) (bool, int) {
	switch t.kind {
	case kNum:
		return true, len(t.low)
	case kHan:
		if _, ok := hanDigits[t.low]; ok {
			return true, 1
		}
		return hanCardinal[t.low] && t.low != "半", 1
	case kWord:
		nw, ok := numberTables[lang]
		if !ok {
			return false, 0
		}
		if _, ok := nw.digits[t.low]; ok {
			return true, 1
		}
		if n, ok := nw.repeat[t.low]; ok {
			return true, n - 1
		}
		if nw.cardinal.MatchString(t.low) {
			return true, 1
		}
	}
	return false, 0
}

// isOrdinal reports whether token t is an ordinal word of lang.
func isOrdinal(lang string, t token) bool {
	nw, ok := numberTables[lang]
	return ok && t.kind == kWord && nw.ordinal.MatchString(t.low)
}

// leadingZero reports whether a spoken or written number starts like a phone number: 0, +, or
// the word for zero.
func leadingZero(lang string, t token) bool {
	switch t.kind {
	case kNum:
		return t.low[0] == '0'
	case kPunct:
		return t.low == "+"
	case kHan:
		return t.low == "零" || t.low == "〇"
	}
	if nw, ok := numberTables[lang]; ok {
		if v, ok := nw.digits[t.low]; ok && v == 0 {
			return true
		}
	}
	return false
}
