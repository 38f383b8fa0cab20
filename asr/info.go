package asr

// ModelInfo describes the loaded model and how the engine runs it.
type ModelInfo struct {
	// Path is the model file.
	Path string `json:"path"`
	// Type is whisper.cpp's name for the model size (tiny, base, ..., or unknown for custom).
	Type string `json:"type"`
	// Multilingual is false for English-only models (*.en).
	Multilingual bool `json:"multilingual"`
	// AudioCtx is the model's encoder context; UsedAudioCtx the one the engine runs (asr.audio_ctx).
	AudioCtx     int `json:"audio_ctx"`
	UsedAudioCtx int `json:"used_audio_ctx"`
	// AudioState, AudioLayers, TextState and TextLayers are the model's dimensions.
	AudioState  int `json:"audio_state"`
	AudioLayers int `json:"audio_layers"`
	TextState   int `json:"text_state"`
	TextLayers  int `json:"text_layers"`
	// Vocab is the vocabulary size.
	Vocab int `json:"vocab"`
	// Workers and Threads are the worker count and the threads each uses.
	Workers int `json:"workers"`
	Threads int `json:"threads"`
	// VAD says whether voice activity detection is on.
	VAD bool `json:"vad"`
	// FlashAttention says whether whisper.cpp runs attention with flash attention (see
	// FlashAttention).
	FlashAttention bool `json:"flash_attention"`
	// System is whisper.cpp's system information (backends, CPU features).
	System string `json:"system"`
}
