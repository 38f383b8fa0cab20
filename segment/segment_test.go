package segment

import (
	"math"
	"testing"
	"time"

	"github.com/sentio-health/sentio/config"
)

// bursts makes 16 kHz audio with a 300 Hz tone over each [start, end) second range, silence elsewhere.
func bursts(total float64, ranges ...[2]float64) []float32 {
	pcm := make([]float32, int(total*SampleRate))
	for _, r := range ranges {
		for i := int(r[0] * SampleRate); i < int(r[1]*SampleRate) && i < len(pcm); i++ {
			pcm[i] = float32(0.3 * math.Sin(2*math.Pi*300*float64(i)/SampleRate))
		}
	}
	return pcm
}

func TestEnergyFindsBursts(t *testing.T) {
	spans, _ := Energy{}.Segments(bursts(4, [2]float64{0.5, 1.5}, [2]float64{2.5, 3.0}))
	if len(spans) != 2 {
		t.Fatalf("spans = %v; want 2", spans)
	}
	if abs(spans[0].StartMS-500) > 30 || abs(spans[0].EndMS-1500) > 30 || abs(spans[1].StartMS-2500) > 30 {
		t.Fatalf("spans misplaced: %v", spans)
	}
}

func TestCutsMergeShortPausesAndSplitLong(t *testing.T) {
	o := Options{Pause: 500 * time.Millisecond, Pad: time.Millisecond, MaxUtterance: 3 * time.Second}
	cuts := Cuts([]Span{{0, 1000}, {1200, 2000}, {4000, 11000}}, 12*SampleRate, o)
	// [0,2000] merged; [4000,11000] split into 3 s pieces.
	if len(cuts) != 4 {
		t.Fatalf("cuts = %v", cuts)
	}
	for _, c := range cuts {
		if c.End-c.Start > 3*SampleRate {
			t.Fatalf("cut %v longer than the maximum", c)
		}
	}
}

type tok int

func runStream(t *testing.T, pcm []float32, chunk int, from int) (starts []int64, acks map[tok]int) {
	t.Helper()
	acks = map[tok]int{}
	ch := NewChannel[tok](Energy{}, Options{})
	// take records what a Push or the Flush decided: the utterances' starts, and one release per
	// token of a silent chunk or of an utterance.
	take := func(utts []Utterance[tok], silent []tok, err error) {
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range silent {
			acks[s]++
		}
		for _, u := range utts {
			starts = append(starts, u.Start)
			for _, k := range u.Tokens {
				acks[k]++
			}
		}
	}
	for i := from; i*chunk < len(pcm); i++ {
		end := min((i+1)*chunk, len(pcm))
		take(ch.Push(int64(i*chunk), pcm[i*chunk:end], tok(i)))
	}
	take(ch.Flush())
	return starts, acks
}

// Options without a MaxUtterance cut at config's pipeline.max_utterance default, not a length of
// segment's own.
func TestMaxUtteranceDefaultIsConfigs(t *testing.T) {
	maxLen := samples(config.Defaults().Pipeline.MaxUtterance)
	n := 3*maxLen + SampleRate
	cuts := Cuts([]Span{{0, n * 1000 / SampleRate}}, n, Options{Pad: -1})
	if len(cuts) != 4 || cuts[0] != (Cut{0, maxLen}) || cuts[3] != (Cut{3 * maxLen, n}) {
		t.Fatalf("cuts of %d samples of speech = %v; want pieces of %d samples", n, cuts, maxLen)
	}
}

func TestStreamCutsOnChunkBoundariesAndReplaysIdentically(t *testing.T) {
	pcm := bursts(8, [2]float64{0.5, 1.7}, [2]float64{3.1, 4.0}, [2]float64{5.5, 6.9})
	chunk := SampleRate / 5 // 200 ms
	starts, acks := runStream(t, pcm, chunk, 0)
	if len(starts) != 3 {
		t.Fatalf("got %d utterances (%v); want 3", len(starts), starts)
	}
	n := (len(pcm) + chunk - 1) / chunk
	for i := 0; i < n; i++ {
		if acks[tok(i)] == 0 {
			t.Fatalf("chunk %d never released", i)
		}
	}
	// After a crash right after the first utterance is published, the stream is redelivered
	// from its oldest chunk not yet released: the replay reproduces the rest exactly.
	ch := NewChannel[tok](Energy{}, Options{})
	released := map[tok]bool{}
	from := -1
	for i := 0; from < 0 && i < n; i++ {
		utts, silent, err := ch.Push(int64(i*chunk), pcm[i*chunk:min((i+1)*chunk, len(pcm))], tok(i))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range silent {
			released[k] = true
		}
		for _, u := range utts {
			for _, k := range u.Tokens {
				released[k] = true
			}
		}
		if len(utts) > 0 {
			for from = 0; released[tok(from)]; from++ {
			}
		}
	}
	re, _ := runStream(t, pcm, chunk, from)
	if len(re) != 2 || re[0] != starts[1] || re[1] != starts[2] {
		t.Fatalf("replay from chunk %d gave %v; original %v", from, re, starts)
	}
}

func TestMaxUtteranceCutsContinuousSpeech(t *testing.T) {
	pcm := bursts(12, [2]float64{0, 12})
	ch := NewChannel[tok](Energy{}, Options{MaxUtterance: 4 * time.Second})
	var got int
	for i := 0; i*SampleRate/2 < len(pcm); i++ {
		utts, _, _ := ch.Push(int64(i*SampleRate/2), pcm[i*SampleRate/2:(i+1)*SampleRate/2], tok(i))
		for _, u := range utts {
			got++
			if len(u.PCM) > 4*SampleRate {
				t.Fatalf("utterance of %d samples exceeds 4 s", len(u.PCM))
			}
		}
	}
	if got < 2 {
		t.Fatalf("12 s of speech gave %d utterances before the flush; want cuts at the maximum", got)
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// countingVAD counts the samples it is asked to analyse.
type countingVAD struct {
	Energy
	n int
}

func (c *countingVAD) Segments(pcm []float32) ([]Span, error) {
	c.n += len(pcm)
	return c.Energy.Segments(pcm)
}

// The VAD work does not grow with the utterance nor with the chunk rate: only the tail is
// analysed, at most once per Step of audio, until the cut.
func TestStreamVADWorkIsBounded(t *testing.T) {
	pcm := bursts(19, [2]float64{0.2, 18.8})
	v := &countingVAD{}
	ch := NewChannel[tok](v, Options{MaxUtterance: 20 * time.Second})
	chunk := SampleRate / 50 // 20 ms
	for i := 0; i*chunk < len(pcm); i++ {
		if _, _, err := ch.Push(int64(i*chunk), pcm[i*chunk:min((i+1)*chunk, len(pcm))], tok(i)); err != nil {
			t.Fatal(err)
		}
	}
	decisions := int64(len(pcm))/samples(Step) + 1
	perDecision := samples(500*time.Millisecond) + tailContext + samples(Step) + int64(chunk)
	if limit := decisions*perDecision + int64(len(pcm)); int64(v.n) > limit {
		t.Fatalf("the VAD analysed %d samples for %d samples of audio (limit %d): it re-reads the whole buffer", v.n, len(pcm), limit)
	}
}

// runChunked streams pcm in chunks of ms milliseconds (in order) and returns the cuts, as call
// positions, and whether every chunk was released exactly once per utterance using it or as silence.
func runChunked(t *testing.T, v VAD, pcm []float32, ms int) (cuts []Cut, unreleased []tok) {
	t.Helper()
	n := SampleRate * ms / 1000
	ch := NewChannel[tok](v, Options{})
	released := map[tok]bool{}
	take := func(utts []Utterance[tok], silent []tok) {
		for _, s := range silent {
			released[s] = true
		}
		for _, u := range utts {
			cuts = append(cuts, Cut{u.Start, u.Start + int64(len(u.PCM))})
			for _, k := range u.Tokens {
				released[k] = true
			}
		}
	}
	total := 0
	for i := 0; i*n < len(pcm); i++ {
		utts, silent, err := ch.Push(int64(i*n), pcm[i*n:min((i+1)*n, len(pcm))], tok(i))
		if err != nil {
			t.Fatal(err)
		}
		take(utts, silent)
		total++
	}
	utts, silent, err := ch.Flush()
	if err != nil {
		t.Fatal(err)
	}
	take(utts, silent)
	for i := 0; i < total; i++ {
		if !released[tok(i)] {
			unreleased = append(unreleased, tok(i))
		}
	}
	return cuts, unreleased
}

// Any chunk length from 10 ms to 1 s gives the utterances clip mode gives, within one chunk or
// one VAD frame (30 ms; the frames are aligned to the audio analysed): telephony sends 20 ms frames.
func TestStreamChunkLengthDoesNotChangeTheCuts(t *testing.T) {
	pcm := bursts(9, [2]float64{0.5, 1.7}, [2]float64{3.1, 4.0}, [2]float64{5.5, 6.9}, [2]float64{7.6, 9})
	want, err := Clip(pcm, Energy{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ms := range []int{10, 20, 40, 200, 1000} {
		got, unreleased := runChunked(t, Energy{}, pcm, ms)
		if len(unreleased) > 0 {
			t.Errorf("%d ms chunks: chunks %v never released", ms, unreleased)
		}
		if len(got) != len(want) {
			t.Errorf("%d ms chunks: %d utterances %v; clip mode gives %d %v", ms, len(got), got, len(want), want)
			continue
		}
		tol := int64(SampleRate * max(ms, frameMS) / 1000)
		for i := range want {
			if abs(got[i].Start-want[i].Start) > tol || abs(got[i].End-want[i].End) > tol {
				t.Errorf("%d ms chunks: utterance %d is %v; clip mode %v", ms, i, got[i], want[i])
			}
		}
	}
}
