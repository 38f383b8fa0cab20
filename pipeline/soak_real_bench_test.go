//go:build whisper

package pipeline

import (
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"testing"
	"time"

	"github.com/sentio-health/sentio/wire"
)

// soakRealRig is realRig keeping the component and its metrics registry, which the soak samples.
func soakRealRig(b *testing.B) *rig {
	b.Helper()
	return capacityRig(b, soakConfig(realConfig(b)))
}

// halfBand low-passes 16 kHz audio below 3.6 kHz (a 63-tap Hann-windowed sinc) and keeps every
// other sample: 8 kHz telephony audio of the same speech.
func halfBand(pcm []float32) []float32 {
	const taps = 63
	var h [taps]float64
	fc := 3600.0 / 16000
	var sum float64
	for i := range h {
		n := float64(i - taps/2)
		v := 2 * fc
		if n != 0 {
			v = math.Sin(2*math.Pi*fc*n) / (math.Pi * n)
		}
		v *= 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/(taps-1))
		h[i] = v
		sum += v
	}
	out := make([]float32, len(pcm)/2)
	for k := range out {
		var acc float64
		for i := range h {
			j := 2*k + i - taps/2
			if j >= 0 && j < len(pcm) {
				acc += h[i] * float64(pcm[j])
			}
		}
		out[k] = float32(acc / sum)
	}
	return out
}

// realCall makes calls of espeak-ng speech (the held-out ASR corpus, one language per call): 3 to
// 5 sentences with pauses of 0.8 to 2.5 s, pcm_s16le 16 kHz on even streams and G.711 µ-law
// 8 kHz on odd ones.
func realCall(b *testing.B, tag string) soakGen {
	langs := []string{"en", "fr", "de", "vi", "zh"}
	pool := map[string][][]float32{}
	for _, l := range langs {
		for i := 0; i < 6; i++ {
			pool[l] = append(pool[l], speak(b, l, corpusSentence(b, l, i)))
		}
	}
	return func(lane, n int, rng *rand.Rand) *soakCall {
		c := &soakCall{id: fmt.Sprintf("soakr-%s-l%02d-c%04d", tag, lane, n), lane: lane,
			codec: wire.CodecS16LE, rate: 16000, channels: 1, roles: []string{"patient"}}
		if lane%2 == 1 {
			c.codec, c.rate = wire.CodecULaw, 8000
		}
		ss := pool[langs[rng.Intn(len(langs))]]
		ms := func(lo, hi int) int { return lo + rng.Intn(hi-lo+1) }
		at := ms(500, 1500) * 16
		var pcm []float32
		pad := func(to int) {
			for len(pcm) < to {
				pcm = append(pcm, float32(0.001*(2*rng.Float64()-1)))
			}
		}
		for i, k := 0, 3+rng.Intn(3); i < k; i++ {
			sp := ss[rng.Intn(len(ss))]
			pad(at)
			for _, v := range sp {
				pcm = append(pcm, v+float32(0.001*(2*rng.Float64()-1)))
			}
			c.bursts = append(c.bursts, soakBurst{start: int64(at / 16), end: int64((at + len(sp)) / 16)})
			at += len(sp) + ms(800, 2500)*16
		}
		pad(len(pcm) + ms(800, 1500)*16)
		if c.rate == 8000 {
			pcm = halfBand(pcm)
		}
		frameAudio(c, [][]float32{pcm})
		return c
	}
}

// BenchmarkSoakReal: SENTIO_SOAK_REAL (e.g. 10m) of SENTIO_SOAK_REAL_STREAMS (2) concurrent
// real-time streams of 20 ms frames with the real models: whisper.cpp (bundled model, Silero VAD)
// and the ONNX reasoning model, on espeak-ng speech.
func BenchmarkSoakReal(b *testing.B) {
	dur := soakEnv(b, "SENTIO_SOAK_REAL")
	streams := soakInt(b, "SENTIO_SOAK_REAL_STREAMS", 2)
	r := soakRealRig(b)
	tag := strconv.FormatInt(time.Now().Unix()%1e6, 36)
	gen := realCall(b, tag)
	s := &soak{b: b, r: r, name: "real", streams: streams, dur: dur, gen: gen, settle: 10 * time.Minute, seed: time.Now().UnixNano()}
	s.run()
}
