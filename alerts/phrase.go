package alerts

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// phrase is a configured phrase and its normalised form.
type phrase struct {
	text, norm string
}

var fold = cases.Fold()

// normalize puts s in the form phrases are matched in: NFC, case-folded, punctuation and runs
// of white space as one space, trimmed.
func normalize(s string) string {
	s = fold.String(norm.NFC.String(s))
	var b strings.Builder
	space := true // at the start: drop leading spaces
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		b.WriteRune(r)
		space = false
	}
	return strings.TrimSuffix(b.String(), " ")
}

// contains reports whether normalised text holds normalised phrase p as whole words: the
// characters either side of a match may not continue a word of a script written with spaces
// (a Chinese phrase matches anywhere).
func contains(text, p string) bool {
	if p == "" {
		return false
	}
	for from := 0; from <= len(text)-len(p); {
		i := strings.Index(text[from:], p)
		if i < 0 {
			return false
		}
		i += from
		before, _ := utf8.DecodeLastRuneInString(text[:i])
		first, _ := utf8.DecodeRuneInString(p)
		last, _ := utf8.DecodeLastRuneInString(p)
		after, _ := utf8.DecodeRuneInString(text[i+len(p):])
		if !(joins(before, first) || joins(last, after)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		from = i + size
	}
	return false
}

// joins reports whether a and b, side by side, are in one word: both letters or digits of a
// script written with spaces between words.
func joins(a, b rune) bool {
	return spaced(a) && spaced(b)
}

func spaced(r rune) bool {
	if r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)) {
		return false
	}
	return !unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}
