package pipeline

import (
	"math"
	"math/rand"
	"testing"

	"github.com/sentio-health/sentio/asr/resample"
)

// snr is the ratio, in dB, of the power of want to that of got - want.
func snr(want, got []float32) float64 {
	var sig, noise float64
	for i := range want {
		sig += float64(want[i]) * float64(want[i])
		d := float64(got[i]) - float64(want[i])
		noise += d * d
	}
	return 10 * math.Log10(sig/noise)
}

// 8 kHz audio in 10, 20 and 40 ms chunks resamples as the whole stream does (per-chunk
// resampling gave 30 dB at 20 ms frames).
func TestChunkResamplerMatchesTheWholeStream(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	x := make([]float32, 8000*3)
	for i := range x {
		ts := float64(i) / 8000
		x[i] = float32(0.3*math.Sin(2*math.Pi*310*ts)+0.2*math.Sin(2*math.Pi*1730*ts)+0.1*math.Sin(2*math.Pi*3100*ts)) + float32(0.02*r.NormFloat64())
	}
	whole, err := resample.Resample(x, 8000, 16000)
	if err != nil {
		t.Skipf("no resampler in this build: %v", err)
	}
	for _, ms := range []int{10, 20, 40} {
		n := 8 * ms
		cr := &chunkResampler{rate: 8000}
		var got, perChunk []float32
		for i := 0; i < len(x); i += n {
			y, err := cr.push(x[i:min(i+n, len(x))])
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, y...)
			z, _ := resample.Resample(x[i:min(i+n, len(x))], 8000, 16000)
			perChunk = append(perChunk, z...)
		}
		tail, err := cr.flush()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tail...)
		if len(got) != len(whole) {
			t.Fatalf("%d ms chunks: %d samples; the whole stream gives %d", ms, len(got), len(whole))
		}
		s, old := snr(whole, got), snr(whole, perChunk)
		t.Logf("%d ms chunks: SNR %.1f dB against the whole stream (each chunk alone: %.1f dB)", ms, s, old)
		if s < 60 {
			t.Errorf("%d ms chunks: SNR %.1f dB against the whole stream; want >= 60", ms, s)
		}
	}
}
