package asr

import (
	"reflect"
	"testing"
)

func TestRestrict(t *testing.T) {
	probs, best, p := restrict(map[string]float32{"en": 0.2, "de": 0.6, "es": 0.9, "fr": 0.2}, []string{"en", "de", "fr"})
	if best != "de" || p != 0.6 || probs["en"] != 0.2 || probs["fr"] != 0.2 || len(probs) != 3 {
		t.Errorf("restrict: %v %s %v", probs, best, p)
	}
	probs, best, _ = restrict(map[string]float32{}, []string{"vi", "en"})
	if best != "vi" || probs["vi"] != 0.5 || probs["en"] != 0.5 {
		t.Errorf("restrict without mass: %v %s", probs, best)
	}
}

func TestJoinText(t *testing.T) {
	got := joinText([]Segment{{Text: " Hello"}, {Text: "world. "}, {Text: "  "}, {Text: "你好"}, {Text: "世界"}})
	if got != "Hello world. 你好世界" {
		t.Errorf("joinText: %q", got)
	}
}

func TestSpansAndTimeMapping(t *testing.T) {
	// Speech at 1-2 s and 5-6 s of a 10 s input.
	spans := spansOf([]Span{{1000, 2000}, {5000, 6000}}, 10*SampleRate)
	want := []speechSpan{{16000, 33600, 0}, {80000, 97600, 0}} // +0.1 s overlap at the end
	if !reflect.DeepEqual(spans, want) {
		t.Fatalf("spansOf: %v", spans)
	}
	pcm := make([]float32, 10*SampleRate)
	out := concatSpeech(pcm, spans)
	if len(out) != 17600+gapSamples+17600 || spans[1].dstStart != 17600+gapSamples {
		t.Fatalf("concatSpeech: %d samples, second at %d", len(out), spans[1].dstStart)
	}
	for _, c := range [][2]int64{{0, 1000}, {500, 1500}, {1150, 2100}, {1200, 5000}, {1700, 5500}} {
		if got := mapTime(c[0], spans); got != c[1] {
			t.Errorf("mapTime(%d) = %d, want %d", c[0], got, c[1])
		}
	}
	split := splitSpans([]speechSpan{{0, 100, 0}, {200, 450, 0}}, 100)
	if !reflect.DeepEqual(split, []speechSpan{{0, 100, 0}, {200, 283, 0}, {283, 366, 0}, {366, 450, 0}}) {
		t.Errorf("splitSpans: %v", split)
	}
}
