//go:build !whisper

package asr

import (
	"context"

	"github.com/sentio-health/sentio/config"
)

// Engine is the whisper.cpp speech recognition engine; this build has no whisper.cpp (build
// with -tags whisper), so it cannot be opened.
type Engine struct{}

// Open fails with ErrNotBuilt: this binary was built without the whisper tag.
func Open(cfg config.ASR, workers int) (*Engine, error) { return nil, ErrNotBuilt }

// Transcribe fails with ErrNotBuilt.
func (e *Engine) Transcribe(ctx context.Context, pcm []float32) (Result, error) {
	return Result{}, ErrNotBuilt
}

// TranscribeLanguage fails with ErrNotBuilt.
func (e *Engine) TranscribeLanguage(ctx context.Context, pcm []float32, lang string) (Result, error) {
	return Result{}, ErrNotBuilt
}

// TranscribeWith fails with ErrNotBuilt.
func (e *Engine) TranscribeWith(ctx context.Context, pcm []float32, opt Options) (Result, error) {
	return Result{}, ErrNotBuilt
}

// Info returns a zero ModelInfo.
func (e *Engine) Info() ModelInfo { return ModelInfo{} }

// Close does nothing.
func (e *Engine) Close() error { return nil }

// VAD is whisper.cpp's Silero voice activity detector; this build has no whisper.cpp.
type VAD struct{}

// OpenVAD fails with ErrNotBuilt.
func OpenVAD(path string, threads int) (*VAD, error) { return nil, ErrNotBuilt }

// Segments fails with ErrNotBuilt.
func (v *VAD) Segments(pcm []float32) ([]Span, error) { return nil, ErrNotBuilt }

// Close does nothing.
func (v *VAD) Close() error { return nil }

// Languages returns nil: this build has no whisper.cpp.
func Languages() []string { return nil }
