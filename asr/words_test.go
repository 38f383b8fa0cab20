package asr

import (
	"reflect"
	"testing"
)

func TestWordsOfMergesTokens(t *testing.T) {
	tok := func(text string, s, e int64, p float32) token { return token{text: text, startMS: s, endMS: e, p: p} }
	// "é" split over two byte-level tokens (0xC3 0xA9), a leading-space BPE token, Chinese
	// characters with punctuation, and a start that goes back in time.
	toks := []token{
		tok("Caf", 0, 100, 0.5), tok("\xc3", 100, 150, 1), tok("\xa9", 150, 200, 1),
		tok(" ok", 300, 400, 0.75), tok(",", 400, 420, 0.25),
		tok(" 头很", 500, 700, 0.9), tok("痛。", 450, 800, 0.7),
	}
	got := wordsOf(toks)
	want := []Word{
		{Text: "Café", StartMS: 0, EndMS: 200, Probability: 2.5 / 3},
		{Text: "ok,", StartMS: 300, EndMS: 420, Probability: 0.5},
		{Text: "头", StartMS: 500, EndMS: 700, Probability: 0.9},
		{Text: "很", StartMS: 500, EndMS: 700, Probability: 0.9},
		{Text: "痛。", StartMS: 500, EndMS: 800, Probability: 0.7},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("wordsOf =\n%+v\nwant\n%+v", got, want)
	}
	if w := wordsOf(nil); len(w) != 0 {
		t.Errorf("wordsOf(nil) = %v", w)
	}
}

func TestTrimToVoice(t *testing.T) {
	pcm := make([]float32, SampleRate) // 1 s: silence, a tone from 300 to 600 ms, silence
	for i := SampleRate * 3 / 10; i < SampleRate*6/10; i++ {
		pcm[i] = 0.5
	}
	words := []Word{{Text: "a", StartMS: 100, EndMS: 900}, {Text: "b", StartMS: 900, EndMS: 1000}}
	trimToVoice(words, pcm)
	if words[0].StartMS != 300 || words[0].EndMS != 600 {
		t.Errorf("word over the tone trimmed to %d-%d ms, want 300-600", words[0].StartMS, words[0].EndMS)
	}
	if words[1].StartMS != 900 || words[1].EndMS != 1000 {
		t.Errorf("word over silence changed to %d-%d ms, want 900-1000", words[1].StartMS, words[1].EndMS)
	}
}
