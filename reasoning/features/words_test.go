package features

import (
	"reflect"
	"testing"
)

func TestWords(t *testing.T) {
	spec := Spec{CJKRanges: [][2]rune{{0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xF900, 0xFAFF}, {0x20000, 0x3FFFF}}}
	for _, c := range []struct {
		text string
		want []string
	}{
		{"The nurse isn't kind.", []string{"The", "nurse", "isn't", "kind"}},
		{"Tôi đã thử nghiệm thuốc.", []string{"Tôi", "đã", "thử", "nghiệm", "thuốc"}},
		// decomposed (NFD) Vietnamese: the combining marks stay in their words
		{"nghie\u0323\u0302m 2 lần", []string{"nghie\u0323\u0302m", "2", "lần"}},
		{"医生很耐心，我好多了。", []string{"医", "生", "很", "耐", "心", "我", "好", "多", "了"}},
		{"l'hôpital, 'quoted' -- x", []string{"l'hôpital", "quoted", "x"}},
		{"CT-Scan 3,5 mg", []string{"CT", "Scan", "3", "5", "mg"}},
		{"", nil},
	} {
		runes := []rune(c.text)
		var got []string
		for _, w := range spec.Words(runes) {
			got = append(got, string(runes[w[0]:w[1]]))
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Words(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}
