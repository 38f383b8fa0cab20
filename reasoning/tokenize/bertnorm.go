package tokenize

import (
	"strings"
	"unicode"

	"github.com/sugarme/tokenizer/normalizer"
	"golang.org/x/text/unicode/norm"
)

// bertNormalizer is Hugging Face's BertNormalizer, which replaces github.com/sugarme/tokenizer's:
// that one strips accents without decomposing first (so "ươ" keeps its marks and becomes [UNK]),
// reads a null strip_accents as false where Hugging Face follows lowercase, and lower-cases with
// strings.ToLower. The steps and their order are those of tokenizers' normalizers/bert.rs.
type bertNormalizer struct {
	cleanText, chineseChars, stripAccents, lowercase bool
}

// newBertNormalizer reads a BertNormalizer's JSON fields; a null or absent strip_accents follows
// lowercase, as in Hugging Face tokenizers.
func newBertNormalizer(cfg map[string]any) *bertNormalizer {
	flag := func(k string, def bool) bool {
		if v, ok := cfg[k].(bool); ok {
			return v
		}
		return def
	}
	b := &bertNormalizer{cleanText: flag("clean_text", true), chineseChars: flag("handle_chinese_chars", true), lowercase: flag("lowercase", true)}
	b.stripAccents = flag("strip_accents", b.lowercase)
	return b
}

// Normalize implements normalizer.Normalizer. The result's alignments start afresh from the
// normalized text: ids do not depend on them, and this package returns no offsets.
func (b *bertNormalizer) Normalize(n *normalizer.NormalizedString) (*normalizer.NormalizedString, error) {
	return normalizer.NewNormalizedFrom(b.normalize(n.GetNormalized())), nil
}

func (b *bertNormalizer) normalize(s string) string {
	var sb strings.Builder
	if b.cleanText {
		for _, r := range s {
			switch {
			case r == 0 || r == 0xfffd || isBertControl(r):
			case isBertWhitespace(r):
				sb.WriteByte(' ')
			default:
				sb.WriteRune(r)
			}
		}
		s, sb = sb.String(), strings.Builder{}
	}
	if b.chineseChars {
		for _, r := range s {
			if isCJK(r) {
				sb.WriteByte(' ')
				sb.WriteRune(r)
				sb.WriteByte(' ')
			} else {
				sb.WriteRune(r)
			}
		}
		s, sb = sb.String(), strings.Builder{}
	}
	if b.stripAccents {
		for _, r := range norm.NFD.String(s) {
			if !unicode.Is(unicode.Mn, r) {
				sb.WriteRune(r)
			}
		}
		s, sb = sb.String(), strings.Builder{}
	}
	if b.lowercase {
		s = lowerChars(s)
	}
	return s
}

// lowerChars lower-cases each character on its own, as Rust's char::to_lowercase does: full
// mappings (İ becomes i and a combining dot above) but no context (Σ is always σ).
func lowerChars(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for _, r := range s {
		if r == 'İ' {
			sb.WriteString("i\u0307")
			continue
		}
		sb.WriteRune(unicode.ToLower(r))
	}
	return sb.String()
}

// isBertWhitespace is tokenizers' is_whitespace: tab, newline, carriage return and Unicode White_Space.
func isBertWhitespace(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.White_Space, r)
}

// isBertControl is tokenizers' is_control: the Unicode "Other" categories, except tab, newline
// and carriage return (which count as whitespace).
func isBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) || !isAssigned(r)
}

// isAssigned reports whether r has a general category other than Cn (unassigned).
func isAssigned(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C)
}

// isCJK is tokenizers' is_chinese_char: the CJK Unified Ideographs blocks BERT puts spaces around.
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) || (r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}
