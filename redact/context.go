package redact

// contextWords are the words around a number that give it a type, per language. Phrases are
// sequences of lower-case tokens.
type contextWords struct {
	months    map[string]bool
	ambiguous map[string]bool // months that are also common words: they need a number next to them
	weekdays  map[string]bool
	// ageAfter follow a number that is an age; ageBefore precede it.
	ageAfter, ageBefore [][]string
	// currency precede or follow an amount.
	currency map[string]bool
	// timeAfter follow the hour of a clock time; dayParts may follow the time and are kept in it.
	timeAfter map[string]bool
	dayParts  map[string]bool
	// phoneKeys and idKeys, shortly before a number, make it a phone number or an identifier.
	phoneKeys, idKeys map[string]bool
	// dateLinks may stand between a day and its month ("of", "de").
	dateLinks map[string]bool
}

var contexts = map[string]contextWords{
	"en": {
		months:    set("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"),
		ambiguous: set("march", "may", "jan", "mar", "jun", "aug", "sep", "sept", "oct", "nov", "dec", "feb", "apr", "jul"),
		weekdays:  set("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
		ageAfter:  [][]string{{"years", "old"}, {"year", "old"}, {"-", "year", "-", "old"}, {"yrs", "old"}, {"months", "old"}},
		ageBefore: [][]string{{"aged"}, {"age"}, {"age", "of"}, {"i", "am"}, {"i'm"}, {"he", "is"}, {"she", "is"}, {"turned"}},
		currency:  set("$", "€", "£", "dollars", "dollar", "euros", "euro", "pounds", "pound", "cents", "usd", "eur", "bucks"),
		timeAfter: set("o'clock", "am", "pm", "a.m.", "p.m."),
		dayParts:  set(),
		phoneKeys: set("phone", "telephone", "mobile", "cell", "call", "number", "fax", "reach", "line", "text"),
		idKeys:    set("record", "mrn", "insurance", "policy", "member", "id", "identification", "ssn", "social", "account", "passport", "license", "licence", "case", "reference", "patient", "chart", "file", "card"),
		dateLinks: set("of", "the"),
	},
	"de": {
		months:    set("januar", "jänner", "februar", "märz", "april", "mai", "juni", "juli", "august", "september", "oktober", "november", "dezember"),
		ambiguous: set("mai", "august"),
		weekdays:  set("montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonnabend", "sonntag"),
		ageAfter:  [][]string{{"jahre", "alt"}, {"jahr", "alt"}, {"-", "jährig"}, {"-", "jährige"}, {"-", "jähriger"}, {"monate", "alt"}},
		ageBefore: [][]string{{"im", "alter", "von"}, {"alter"}},
		currency:  set("€", "$", "euro", "cent", "dollar", "eur", "franken"),
		timeAfter: set("uhr"),
		dayParts:  set(),
		phoneKeys: set("telefon", "telefonnummer", "handy", "handynummer", "rufnummer", "nummer", "anrufen", "erreichen", "mobil", "mobilnummer", "festnetz", "fax", "durchwahl"),
		idKeys:    set("versicherungsnummer", "versichertennummer", "patientennummer", "aktenzeichen", "ausweisnummer", "kennung", "akte", "krankenkasse", "versicherung", "id", "kundennummer", "fallnummer", "karte", "versichertenkarte", "sozialversicherungsnummer", "steuernummer"),
		dateLinks: set("."),
	},
	"fr": {
		months:    set("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"),
		ambiguous: set("mars", "mai"),
		weekdays:  set("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
		ageAfter:  [][]string{{"ans"}, {"an"}, {"mois"}},
		ageBefore: [][]string{{"âgé", "de"}, {"âgée", "de"}, {"âge", "de"}, {"âgé"}, {"âgée"}},
		currency:  set("€", "$", "euros", "euro", "centimes", "dollars", "francs"),
		timeAfter: set("heures", "heure", "h"),
		dayParts:  set(),
		phoneKeys: set("téléphone", "portable", "numéro", "appeler", "joindre", "tél", "tel", "fixe", "mobile", "rappeler"),
		idKeys:    set("dossier", "sécurité", "sociale", "assurance", "mutuelle", "identifiant", "vitale", "référence", "patient", "carte", "passeport", "compte", "id"),
		dateLinks: set(),
	},
	"vi": {
		weekdays:  set(),
		ageAfter:  [][]string{{"tuổi"}},
		ageBefore: [][]string{},
		currency:  set("đồng", "vnd", "đô", "₫", "$", "đ", "usd", "euro"),
		timeAfter: set("giờ"),
		dayParts:  set("sáng", "trưa", "chiều", "tối", "đêm", "rưỡi"),
		phoneKeys: set("điện", "thoại", "sđt", "gọi", "di", "động", "máy", "số"),
		idKeys:    set("hồ", "sơ", "bảo", "hiểm", "mã", "cccd", "cmnd", "căn", "cước", "chứng", "minh", "bệnh", "án", "thẻ", "hộ", "chiếu", "khoản", "bhyt"),
		dateLinks: set(),
	},
	"zh": {
		currency:  set("元", "块", "钱", "美", "欧", "¥", "￥", "$", "€"),
		phoneKeys: set("电", "话", "手", "机", "号", "码", "打", "拨", "联", "系"),
		idKeys:    set("病", "历", "医", "保", "身", "份", "证", "编", "卡", "保", "险", "档", "案", "账", "户", "护", "照"),
	},
}

// hasKey reports whether one of tokens [from, to) is in keys.
func hasKey(keys map[string]bool, toks []token, from, to int) bool {
	for k := max(0, from); k < to; k++ {
		if keys[toks[k].low] {
			return true
		}
	}
	return false
}
