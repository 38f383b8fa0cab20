// Package resample converts mono float32 audio between sample rates with a band-limited
// resampler: libsoxr (the SoX resampler library) at its high-quality setting, called through cgo.
//
// libsoxr is the one cgo dependency of audio decoding. Pure-Go resamplers were considered, but
// none that is well kept is available to this project's module proxy; soxr is what sox itself
// uses, is packaged by Debian (libsoxr-dev) and has a one-call API (soxr_oneshot) that needs no
// state. Without cgo, Resample only accepts input that is already at the target rate and says
// so otherwise.
package resample

import "fmt"

// MinRate and MaxRate bound the sample rates Resample accepts.
const (
	MinRate = 1000
	MaxRate = 768000
)

func checkRates(from, to int) error {
	if from < MinRate || from > MaxRate {
		return fmt.Errorf("resample: input sample rate %d Hz is outside %d..%d Hz", from, MinRate, MaxRate)
	}
	if to < MinRate || to > MaxRate {
		return fmt.Errorf("resample: output sample rate %d Hz is outside %d..%d Hz", to, MinRate, MaxRate)
	}
	return nil
}

// OutputLen returns the number of samples Resample produces for n input samples.
func OutputLen(n, from, to int) int {
	if from == to {
		return n
	}
	return int((int64(n)*int64(to) + int64(from) - 1) / int64(from))
}
