package redact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// kind is the kind of a token.
type kind uint8

const (
	kWord  kind = iota // letters and marks, with apostrophes inside
	kNum               // digits (ASCII or full-width)
	kHan               // one CJK ideograph
	kPunct             // any other single character
)

// token is a word, a run of digits, an ideograph or a punctuation character of a text; spaces
// are not tokens.
type token struct {
	kind       kind
	start, end int // byte offsets
	text       string
	low        string // lower case, full-width digits as ASCII
	// space is true when white space comes before the token.
	space bool
}

func isHan(r rune) bool { return unicode.Is(unicode.Han, r) || r == '〇' }

func isDigit(r rune) bool { return (r >= '0' && r <= '9') || (r >= '０' && r <= '９') }

func isLetter(r rune) bool { return unicode.IsLetter(r) && !isHan(r) || unicode.IsMark(r) }

// tokenize splits text into tokens.
func tokenize(text string) []token {
	var toks []token
	space := false
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		switch {
		case unicode.IsSpace(r):
			space = true
			i += n
			continue
		case isDigit(r):
			j := i + n
			for j < len(text) {
				r2, n2 := utf8.DecodeRuneInString(text[j:])
				if !isDigit(r2) {
					break
				}
				j += n2
			}
			toks = append(toks, token{kind: kNum, start: i, end: j, text: text[i:j], low: asciiDigits(text[i:j]), space: space})
			i = j
		case isHan(r):
			toks = append(toks, token{kind: kHan, start: i, end: i + n, text: text[i : i+n], low: text[i : i+n], space: space})
			i += n
		case isLetter(r):
			j := i + n
			for j < len(text) {
				r2, n2 := utf8.DecodeRuneInString(text[j:])
				if isLetter(r2) {
					j += n2
					continue
				}
				// An apostrophe between letters stays in the word (o'clock, m'appelle).
				if r2 == '\'' || r2 == '’' {
					if r3, _ := utf8.DecodeRuneInString(text[j+n2:]); j+n2 < len(text) && isLetter(r3) {
						j += n2
						continue
					}
				}
				break
			}
			w := text[i:j]
			toks = append(toks, token{kind: kWord, start: i, end: j, text: w, low: strings.ReplaceAll(strings.ToLower(w), "’", "'"), space: space})
			i = j
		default:
			toks = append(toks, token{kind: kPunct, start: i, end: i + n, text: text[i : i+n], low: text[i : i+n], space: space})
			i += n
		}
		space = false
	}
	return toks
}

// asciiDigits maps full-width digits to ASCII.
func asciiDigits(s string) string {
	if s == "" || s[0] < 0x80 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r >= '０' && r <= '９' {
			r = '0' + (r - '０')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// capitalised reports whether the word starts with an upper-case letter.
func capitalised(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return unicode.IsUpper(r)
}
