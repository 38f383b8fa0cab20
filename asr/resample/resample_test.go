package resample

import (
	"math"
	"testing"
)

func tone(freq float64, rate, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(0.5 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return s
}

// power returns the mean power of x at freq (Goertzel), ignoring the first and last 10% where
// the filter settles.
func power(x []float32, freq float64, rate int) float64 {
	x = x[len(x)/10 : len(x)-len(x)/10]
	w := 2 * math.Pi * freq / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return p / float64(len(x)*len(x))
}

func rms(x []float32) float64 {
	x = x[len(x)/10 : len(x)-len(x)/10]
	var sum float64
	for _, v := range x {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(x)))
}

func db(r float64) float64 { return 10 * math.Log10(r) }

func TestTonePreserved(t *testing.T) {
	for _, from := range []int{8000, 22050, 44100, 48000} {
		in := tone(1000, from, from) // 1 s
		out, err := Resample(in, from, 16000)
		if err != nil {
			t.Fatal(err)
		}
		if want := OutputLen(len(in), from, 16000); len(out) < want-2 || len(out) > want {
			t.Fatalf("%d Hz: %d samples out, want about %d", from, len(out), want)
		}
		at := power(out, 1000, 16000)
		for _, f := range []float64{900, 1100, 2000, 3000, 7000} {
			if r := db(power(out, f, 16000) / at); r > -40 {
				t.Errorf("%d Hz: power at %v Hz only %.1f dB below the 1 kHz tone", from, f, r)
			}
		}
		if r := rms(out) / rms(in); math.Abs(db(r*r)) > 0.2 {
			t.Errorf("%d Hz: level changed by %.2f dB", from, db(r*r))
		}
	}
}

func TestAliasingRejected(t *testing.T) {
	// 12 kHz is above the 8 kHz Nyquist frequency of the output: a naive decimator folds it to
	// 4 kHz; a band-limited resampler removes it.
	in := tone(12000, 48000, 48000)
	out, err := Resample(in, 48000, 16000)
	if err != nil {
		t.Fatal(err)
	}
	if r := db(math.Pow(rms(out)/rms(in), 2)); r > -60 {
		t.Errorf("12 kHz tone leaks through at %.1f dB (want below -60 dB)", r)
	}
	// Upsampling 8 kHz to 16 kHz must not create the 7 kHz image of a 1 kHz tone.
	up, err := Resample(tone(1000, 8000, 8000), 8000, 16000)
	if err != nil {
		t.Fatal(err)
	}
	if r := db(power(up, 7000, 16000) / power(up, 1000, 16000)); r > -60 {
		t.Errorf("7 kHz image of a 1 kHz tone at %.1f dB (want below -60 dB)", r)
	}
}

func TestRejectsBadRates(t *testing.T) {
	for _, r := range [][2]int{{0, 16000}, {16000, 0}, {-8000, 16000}, {10_000_000, 16000}} {
		if _, err := Resample(make([]float32, 10), r[0], r[1]); err == nil {
			t.Errorf("%d -> %d: no error", r[0], r[1])
		}
	}
}
