package rationale

import (
	"math"
	"strings"
	"testing"
)

func TestRougeL(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want float64
	}{
		{"objective description", "objective description", 1},
		{"negative medical condition", "negative condition", 2 * (2.0 / 3) * 1 / (2.0/3 + 1)},
		{"gratitude", "objective description", 0},
		{"", "objective description", 0},
		{"a b c d", "b d", 2 * 0.5 * 1 / 1.5},
	} {
		got := RougeL(strings.Fields(c.a), strings.Fields(c.b))
		if math.Abs(got-c.want) > 1e-12 {
			t.Errorf("RougeL(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
		if back := RougeL(strings.Fields(c.b), strings.Fields(c.a)); math.Abs(back-got) > 1e-12 {
			t.Errorf("rougeL is not symmetric on %q, %q: %v vs %v", c.a, c.b, got, back)
		}
	}
}
