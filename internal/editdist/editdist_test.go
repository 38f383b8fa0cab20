package editdist

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"workers", "wrokers", 2}, {"asr.model", "asr.model", 0}, {"thuốc", "thuoc", 1},
	} {
		if got := Distance([]rune(c.a), []rune(c.b)); got != c.want {
			t.Errorf("Distance(%q, %q) = %d; want %d", c.a, c.b, got, c.want)
		}
	}
	if got := Distance([]byte("thuốc"), []byte("thuoc")); got != 3 {
		t.Errorf("byte distance %d; want 3 (ố is three bytes)", got)
	}
}
