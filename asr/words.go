package asr

import (
	"math"
	"unicode"
	"unicode/utf8"
)

// Word is one word of a transcript with its place in the audio.
type Word struct {
	// Text is the word as it appears in the transcript, punctuation attached.
	Text string `json:"text"`
	// StartMS and EndMS place the word in the input audio, in milliseconds.
	StartMS int64 `json:"start_ms"`
	EndMS   int64 `json:"end_ms"`
	// Probability is the mean of whisper's probabilities of the word's tokens.
	Probability float32 `json:"probability"`
}

// token is one text token of whisper's output with its time in the input audio.
type token struct {
	// text is the token's bytes: a whole word piece, or part of a UTF-8 sequence (byte-level BPE).
	text           string
	startMS, endMS int64
	p              float32
}

// wordsOf merges tokens into words: whitespace separates words, and each Chinese or Japanese
// character is a word of its own (punctuation after it stays with it), as the evidence spans
// count them. A word starts when its first token starts and ends when its last token ends; its
// probability is the mean of its tokens'. Word times never go back: a word starts no earlier
// than the word before it.
func wordsOf(toks []token) []Word {
	var buf []byte
	var owner []int // the token of each byte of buf
	for i, t := range toks {
		buf = append(buf, t.text...)
		for range len(t.text) {
			owner = append(owner, i)
		}
	}
	var words []Word
	type open struct {
		start, end  int // byte range in buf
		first, last int // tokens
	}
	var cur *open
	flush := func() {
		if cur == nil {
			return
		}
		var p float32
		for k := cur.first; k <= cur.last; k++ {
			p += toks[k].p
		}
		words = append(words, Word{Text: string(buf[cur.start:cur.end]), StartMS: toks[cur.first].startMS,
			EndMS: toks[cur.last].endMS, Probability: p / float32(cur.last-cur.first+1)})
		cur = nil
	}
	for i := 0; i < len(buf); {
		r, size := utf8.DecodeRune(buf[i:])
		first, last := owner[i], owner[i+size-1]
		switch {
		case unicode.IsSpace(r):
			flush()
		case isCJK(r) || cur == nil:
			flush()
			cur = &open{start: i, end: i + size, first: first, last: last}
		default:
			cur.end, cur.last = i+size, last
		}
		i += size
	}
	flush()
	for i := range words {
		if i > 0 && words[i].StartMS < words[i-1].StartMS {
			words[i].StartMS = words[i-1].StartMS
		}
		if words[i].EndMS < words[i].StartMS {
			words[i].EndMS = words[i].StartMS
		}
	}
	return words
}

// frameMS is the frame of the voicing measure that trims word times.
const frameMS = 10

// voicedFrames marks the 10 ms frames of pcm whose RMS is within 30 dB of its loudest frame's.
func voicedFrames(pcm []float32) []bool {
	n := SampleRate * frameMS / 1000
	rms := make([]float64, (len(pcm)+n-1)/n)
	peak := 0.0
	for f := range rms {
		var s float64
		seg := pcm[f*n : min(len(pcm), (f+1)*n)]
		for _, x := range seg {
			s += float64(x) * float64(x)
		}
		rms[f] = math.Sqrt(s / float64(len(seg)))
		peak = max(peak, rms[f])
	}
	out := make([]bool, len(rms))
	for f, r := range rms {
		out[f] = peak > 0 && r >= peak*0.0316 // -30 dB
	}
	return out
}

// trimToVoice narrows each word to the voiced part of its span: the start moves forward to the
// first voiced frame in it and the end back to the end of the last one. DTW timings of a small
// model tend to give a word the pause before it; a word with no voiced frame keeps its times.
// Times are in pcm's milliseconds.
func trimToVoice(words []Word, pcm []float32) {
	v := voicedFrames(pcm)
	for i := range words {
		f0 := int(words[i].StartMS / frameMS)
		f1 := min(len(v), int((words[i].EndMS+frameMS-1)/frameMS))
		first, last := -1, -1
		for f := f0; f < f1; f++ {
			if v[f] {
				if first < 0 {
					first = f
				}
				last = f
			}
		}
		if first < 0 {
			continue
		}
		words[i].StartMS = max(words[i].StartMS, int64(first*frameMS))
		words[i].EndMS = min(words[i].EndMS, int64((last+1)*frameMS))
	}
}
