package tokenize

import "testing"

func TestBertNormalizerAsHuggingFace(t *testing.T) {
	for _, c := range []struct {
		cfg      map[string]any
		in, want string
	}{
		// strip_accents null follows lowercase; accents go after decomposition, composed or not.
		{map[string]any{"lowercase": true, "strip_accents": nil}, "Chương TRÌNH", "chuong trinh"},
		{map[string]any{"lowercase": true}, "Chu\u031b\u0301o\u031bng", "chuong"},
		{map[string]any{"lowercase": true, "strip_accents": false}, "Ơ", "ơ"},
		{map[string]any{"lowercase": false, "strip_accents": nil}, "Ơ", "Ơ"},
		// Per-character full lower-casing, no final sigma.
		{map[string]any{"lowercase": true, "strip_accents": false}, "İΣ", "i\u0307σ"},
		// Clean text: controls dropped, whitespace (tab, NBSP) made a space; CJK spaced.
		{map[string]any{"lowercase": false}, "a\x00b\u200bc\td\u00a0e", "abc d e"},
		{map[string]any{"lowercase": false}, "医生ok", " 医  生 ok"},
	} {
		if got := newBertNormalizer(c.cfg).normalize(c.in); got != c.want {
			t.Errorf("%v normalize(%q) = %q, want %q", c.cfg, c.in, got, c.want)
		}
	}
}
