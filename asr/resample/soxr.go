//go:build cgo

package resample

/*
#cgo LDFLAGS: -lsoxr
#include <soxr.h>
#include <stdlib.h>

static const char *sentio_soxr_oneshot(double in_rate, double out_rate,
		const float *in, size_t ilen, float *out, size_t olen, size_t *odone) {
	soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
	soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
	size_t idone = 0;
	soxr_error_t err = soxr_oneshot(in_rate, out_rate, 1, in, ilen, &idone, out, olen, odone, &io, &q, NULL);
	return err;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Resample converts mono samples at from Hz to to Hz with libsoxr's high-quality (SOXR_HQ,
// 20-bit precision, linear phase) band-limited filter; the output is time-aligned with the
// input (soxr compensates its filter delay) and has OutputLen(len(in), from, to) samples.
// When the rates are equal it returns in unchanged.
func Resample(in []float32, from, to int) ([]float32, error) {
	if err := checkRates(from, to); err != nil {
		return nil, err
	}
	if from == to || len(in) == 0 {
		return in, nil
	}
	olen := OutputLen(len(in), from, to)
	out := make([]float32, olen)
	var odone C.size_t
	cerr := C.sentio_soxr_oneshot(C.double(from), C.double(to),
		(*C.float)(unsafe.Pointer(&in[0])), C.size_t(len(in)),
		(*C.float)(unsafe.Pointer(&out[0])), C.size_t(olen), &odone)
	if cerr != nil {
		return nil, fmt.Errorf("resample: soxr %d Hz to %d Hz: %s", from, to, C.GoString(cerr))
	}
	return out[:int(odone)], nil
}
