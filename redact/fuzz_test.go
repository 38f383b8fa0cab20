package redact

import (
	"testing"
	"unicode/utf8"
)

// FuzzFind: any text in any of the languages gives entities in order, not overlapping, inside
// the text, and Apply and the Mapping agree with them; nothing panics (a panic in the publish
// stage would send the utterance to the DLQ).
func FuzzFind(f *testing.F) {
	for lang, cases := range ruleCases {
		for _, c := range cases {
			f.Add(c[0], lang)
		}
	}
	f.Add("+ - 1 . , 3rd of the", "en")
	f.Add("ngày tháng năm mùng", "vi")
	f.Add("我叫欧阳", "zh")
	r, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text, lang string) {
		if !utf8.ValidString(text) {
			return
		}
		ents := r.Find(text, lang)
		n := utf8.RuneCountInString(text)
		prev := 0
		for _, e := range ents {
			if e.Start < prev || e.End <= e.Start || e.End > n {
				t.Fatalf("entities %+v of %q (%d runes): out of order, empty or outside", ents, text, n)
			}
			prev = e.End
		}
		red, m := r.Redact(text, lang)
		rr := []rune(red)
		for i, e := range m.Redacted {
			if string(rr[e.Start:e.End]) != Placeholder(m.Original[i].Type) {
				t.Fatalf("redacted %q: entity %+v does not span its placeholder", red, e)
			}
			if s, en := m.ToRedacted(m.Original[i].Start, m.Original[i].End); s != e.Start || en != e.End {
				t.Fatalf("mapping of %+v: %d-%d; want %d-%d", m.Original[i], s, en, e.Start, e.End)
			}
		}
	})
}
