//go:build whisper

package asr

/*
#include <whisper.h>
#include <stdlib.h>

static struct whisper_vad_context *sentio_vad_load(const char *path, int threads) {
	struct whisper_vad_context_params p = whisper_vad_default_context_params();
	p.n_threads = threads;
	p.use_gpu = false;
	return whisper_vad_init_from_file_with_params(path, p);
}

static struct whisper_vad_segments *sentio_vad(struct whisper_vad_context *v, const float *pcm, int n) {
	return whisper_vad_segments_from_samples(v, whisper_vad_default_params(), pcm, n);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"unsafe"
)

// VAD is whisper.cpp's Silero voice activity detector with its default parameters (threshold
// 0.5, speech at least 250 ms, silences of 100 ms split, 30 ms padding). It is safe for
// concurrent use, but runs one call at a time; give each worker its own for parallelism.
type VAD struct {
	mu  sync.Mutex
	ctx *C.struct_whisper_vad_context
}

// OpenVAD loads a Silero VAD model in whisper.cpp's ggml form (e.g. silero-v6.2.0-ggml.bin,
// `sentio models fetch silero-vad`), to run with threads threads.
func OpenVAD(path string, threads int) (*VAD, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("asr: VAD model %s: %w (set asr.vad_model, empty to disable, or `sentio models fetch silero-vad`)", path, err)
	}
	quiet()
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	ctx := C.sentio_vad_load(cp, C.int(max(1, threads)))
	if ctx == nil {
		return nil, fmt.Errorf("asr: whisper.cpp could not load the VAD model %s (not a ggml Silero VAD model?)", path)
	}
	return &VAD{ctx: ctx}, nil
}

// Segments returns the stretches of speech in 16 kHz mono pcm, in order.
func (v *VAD) Segments(pcm []float32) ([]Span, error) {
	if len(pcm) == 0 {
		return nil, ErrEmptyAudio
	}
	if len(pcm) > math.MaxInt32 {
		return nil, fmt.Errorf("asr: %d samples is too long for the VAD", len(pcm))
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ctx == nil {
		return nil, ErrClosed
	}
	segs := C.sentio_vad(v.ctx, (*C.float)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)))
	if segs == nil {
		return nil, errors.New("asr: whisper.cpp voice activity detection failed")
	}
	defer C.whisper_vad_free_segments(segs)
	n := int(C.whisper_vad_segments_n_segments(segs))
	out := make([]Span, n)
	for i := range out {
		// whisper.cpp reports VAD segment times in centiseconds.
		out[i] = Span{
			StartMS: int64(math.Round(float64(C.whisper_vad_segments_get_segment_t0(segs, C.int(i))) * 10)),
			EndMS:   int64(math.Round(float64(C.whisper_vad_segments_get_segment_t1(segs, C.int(i))) * 10)),
		}
	}
	return out, nil
}

// Close frees the detector.
func (v *VAD) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ctx != nil {
		C.whisper_vad_free(v.ctx)
		v.ctx = nil
	}
	return nil
}
