package asr

// Adaptive audio context (asr.adaptive_audio_ctx): whisper pads every input to its window (30 s
// for official models) and the encoder's work grows with the window, so a 3 s utterance costs as
// much encoder time as 30 s of audio. With the setting on, each whisper.cpp call encodes only
// a context that holds its audio: whisper.cpp's audio_ctx set per call to the audio's length in
// encoder positions (one per 20 ms) plus a margin, rounded up to a step and bounded by the
// configured context (asr.audio_ctx, or the model's).

// adaptiveMargin is the silence after the audio that the shortened window keeps (0.64 s): the
// decoder sees the speech end before the window does.
const adaptiveMargin = 32

// adaptiveStep rounds contexts up so that few different sizes occur. With flash attention it is
// 256: whisper.cpp pads the cross-attention keys and values to a multiple of 256 without masking
// the padding (see FlashAttention), so a multiple of 256 has none.
func adaptiveStep(flash bool) int {
	if flash {
		return 256
	}
	return 32
}

// adaptiveAudioCtx returns the audio context for samples samples (16 kHz): full (the configured
// context, 0 meaning the model's nctx) when the audio with its margin needs it, else the audio's
// length in encoder positions plus adaptiveMargin, rounded up to adaptiveStep.
func adaptiveAudioCtx(samples, configured, nctx int, flash bool) int {
	limit := configured
	if limit == 0 {
		limit = nctx
	}
	step := adaptiveStep(flash)
	c := (samples+2*160-1)/(2*160) + adaptiveMargin
	c = (c + step - 1) / step * step
	if c >= limit {
		return configured
	}
	return c
}
