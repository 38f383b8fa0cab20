//go:build !cgo

package resample

import "fmt"

// Resample returns in unchanged when from equals to; this build has no cgo, so libsoxr is not
// linked and any other conversion fails with an error that says so.
func Resample(in []float32, from, to int) ([]float32, error) {
	if err := checkRates(from, to); err != nil {
		return nil, err
	}
	if from == to {
		return in, nil
	}
	return nil, fmt.Errorf("resample: %d Hz to %d Hz needs libsoxr, but this binary was built without cgo (build with CGO_ENABLED=1 and libsoxr-dev)", from, to)
}
