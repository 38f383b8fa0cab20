package redact

import "regexp"

// Patterns matched on the text itself, before it is split into tokens.
var (
	emailRE = regexp.MustCompile(`[\p{Latin}\p{N}._%+\-]+@[\p{Latin}\p{N}\-]+(\.[\p{Latin}\p{N}\-]+)*\.\p{Latin}{2,}`)
	urlRE   = regexp.MustCompile(`(?i)(https?://|www\.)[^\s<>"\p{Han}，。！？、；：]+|\b[a-z0-9\-]+(\.[a-z0-9\-]+)*\.(com|org|net|edu|gov|io|info|health|de|fr|vn|cn|uk|eu|at|ch|be)(/[^\s<>"\p{Han}，。！？、；：]*)?`)
	// numDateRE is a date in digits: 3/3/2024, 03.03.24, 2024-03-03.
	numDateRE = regexp.MustCompile(`\b(\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4}|\d{4}[./\-]\d{1,2}[./\-]\d{1,2})\b`)
	// numTimeRE is a clock time in digits: 9:30, 14h30, 9.30 am.
	numTimeRE = regexp.MustCompile(`(?i)\b\d{1,2}(:\d{2}|h\d{2}|h)(\s?(am|pm|a\.m\.|p\.m\.|uhr))?\b|\b\d{1,2}\s?(am|pm)\b|\b\d{1,2}\s?(a\.m\.|p\.m\.)`)
)

// trailingPunct is stripped from the end of a URL match: sentence punctuation.
const trailingPunct = ".,;:!?)]}'\""

// patternSpans finds e-mail addresses, URLs and dates and times written in digits (byte offsets).
func patternSpans(text string) []span {
	var out []span
	for _, m := range emailRE.FindAllStringIndex(text, -1) {
		out = append(out, span{Email, m[0], m[1]})
	}
	for _, m := range urlRE.FindAllStringIndex(text, -1) {
		e := m[1]
		for e > m[0] && containsByte(trailingPunct, text[e-1]) {
			e--
		}
		out = append(out, span{URL, m[0], e})
	}
	for _, m := range numDateRE.FindAllStringIndex(text, -1) {
		out = append(out, span{Date, m[0], m[1]})
	}
	for _, m := range numTimeRE.FindAllStringIndex(text, -1) {
		out = append(out, span{Time, m[0], m[1]})
	}
	return out
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}
