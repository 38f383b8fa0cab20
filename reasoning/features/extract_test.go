package features

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestFNV1a64Vectors(t *testing.T) {
	// Reference values of FNV-1a 64 (Fowler/Noll/Vo test suite).
	for s, want := range map[string]uint64{"": 0xcbf29ce484222325, "a": 0xaf63dc4c8601ec8c, "foobar": 0x85944171f73967e8} {
		if got := uint64(newHasher("").str(s)); got != want {
			t.Errorf("fnv1a64(%q) = %#x, want %#x", s, got, want)
		}
	}
	// Hashing rune by rune equals hashing the UTF-8 string.
	if a, b := newHasher("c:").str(" đầu"), newHasher("c:").rune(' ').rune('đ').rune('ầ').rune('u'); a != b {
		t.Errorf("rune-wise hash %#x != string hash %#x", b, a)
	}
}

func TestSpansSliceOriginalText(t *testing.T) {
	spec := loadSpec(t)
	for _, text := range []string{
		"Bác sĩ nói   tôi bị ĐAU ĐẦU!",
		"脑卒中呢，它和血凝块的形成有关",
		"L'hôpital m'a dit: ça va.",
		"Straße ÜBER Öl, 3 Tage",
		"",
		"...",
	} {
		runes := []rune(text)
		for _, f := range Extract(spec, text) {
			if f.ID == spec.PaddingID || f.ID < 0 || f.ID >= spec.NumIDs {
				t.Fatalf("%q: id %d outside [1, %d)", text, f.ID, spec.NumIDs)
			}
			if f.Value < float32(len(f.Spans)) {
				t.Errorf("%q: id %d value %v < %d spans", text, f.ID, f.Value, len(f.Spans))
			}
			for _, sp := range f.Spans {
				if sp[0] < 0 || sp[1] > len(runes) || sp[0] >= sp[1] {
					t.Fatalf("%q: span %v outside the text", text, sp)
				}
				s := string(runes[sp[0]:sp[1]])
				if strings.TrimSpace(s) != s {
					t.Errorf("%q: span %v = %q starts or ends with a space", text, sp, s)
				}
			}
		}
	}
}

func TestCaseAndCompositionInsensitive(t *testing.T) {
	spec := loadSpec(t)
	nfc := "Bệnh nhân bị đau đầu"
	nfd := norm.NFD.String(nfc)
	if nfd == nfc {
		t.Fatal("NFD form equals NFC form; the test text needs precomposed letters")
	}
	a := Extract(spec, nfc)
	b := Extract(spec, nfd)
	c := Extract(spec, strings.ToUpper(nfc))
	ids := func(fs []Feature) (out []int64) {
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}
	if !slices.Equal(ids(a), ids(b)) || !slices.Equal(ids(a), ids(c)) {
		t.Fatalf("NFC, NFD and upper-case forms give different ids")
	}
	// NFD spans point into the decomposed text: the word "Bệnh" covers more code points there.
	wordSpan := func(fs []Feature, text string, word string) [2]int {
		for _, f := range fs {
			for _, sp := range f.Spans {
				if norm.NFC.String(string([]rune(text)[sp[0]:sp[1]])) == word && spec.IsWordID(f.ID) {
					return sp
				}
			}
		}
		t.Fatalf("no word span for %q in %q", word, text)
		return [2]int{}
	}
	if sa, sb := wordSpan(a, nfc, "Bệnh"), wordSpan(b, nfd, "Bệnh"); sa != [2]int{0, 4} || sb[0] != 0 || sb[1] <= 4 {
		t.Errorf("spans of Bệnh: NFC %v (want [0 4]), NFD %v (want [0 >4])", sa, sb)
	}
}

func TestChineseCarriedByCharacters(t *testing.T) {
	spec := loadSpec(t)
	text := "头很痛"
	fs := Extract(spec, text)
	var words, chars int
	for _, f := range fs {
		if spec.IsWordID(f.ID) {
			words++
		} else {
			chars++
		}
	}
	// 3 unigrams + 2 bigrams; " 头很痛 " has 4 + 3 + 2 + 1 char n-grams of lengths 2..5.
	if words != 5 || chars != 10 {
		t.Errorf("%q: %d word and %d char features, want 5 and 10", text, words, chars)
	}
}

func TestSpecRefusesUnknownSchemes(t *testing.T) {
	if _, err := ParseSpec([]byte(`{"normalization":"nfc-per-segment","lowercase":"simple","hash":"crc32","value":"count"}`)); err == nil || !strings.Contains(err.Error(), "hash") {
		t.Errorf("crc32 hash accepted: %v", err)
	}
	if _, err := ParseSpec([]byte(`{"normalization":"nfkc"}`)); err == nil || !strings.Contains(err.Error(), "normalization") {
		t.Errorf("nfkc accepted: %v", err)
	}
}

func BenchmarkExtract(b *testing.B) {
	spec := loadSpec(b)
	recs := readParity(b, "vi")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		Extract(spec, recs[i%len(recs)].Text)
	}
}
