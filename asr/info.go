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
	// UseGPU is asr.use_gpu: whisper.cpp may put the model on a GPU device of ggml's.
	UseGPU bool `json:"use_gpu"`
	// Device is the ggml device the model runs on: "CPU", or the GPU device whisper.cpp chose
	// ("Vulkan0", "CUDA0"), whose DeviceDescription is ggml's description of it ("llvmpipe (LLVM
	// 22.1.8, 256 bits)" for Mesa's software Vulkan device).
	Device            string `json:"device"`
	DeviceDescription string `json:"device_description,omitempty"`
	// System is whisper.cpp's system information (backends, CPU features).
	System string `json:"system"`
}

// OnGPU reports whether the model runs on a GPU device.
func (m ModelInfo) OnGPU() bool { return m.Device != "" && m.Device != "CPU" }

// DeviceLine is the one start-up log line that says where the model runs: on the GPU device
// whisper.cpp chose, or on the CPU, and why (asr.use_gpu off, or no GPU device found: ggml
// then falls back to the CPU).
func (m ModelInfo) DeviceLine() string {
	switch {
	case m.OnGPU() && m.DeviceDescription != "":
		return "asr: model on " + m.Device + " (" + m.DeviceDescription + ")"
	case m.OnGPU():
		return "asr: model on " + m.Device
	case m.UseGPU:
		return "asr: no GPU device; running on the CPU (" + NoGPUHelp + ")"
	default:
		return "asr: model on the CPU (asr.use_gpu is false)"
	}
}

// NoGPUHelp says what a machine needs for asr.use_gpu when whisper.cpp found no GPU device.
const NoGPUHelp = "install ggml's backend for the GPU, e.g. libggml0-backend-vulkan or -cuda, and its driver; " +
	"GGML_VK_VISIBLE_DEVICES lists Vulkan devices of CPU type, which ggml skips otherwise"

// The bundled demo model's dimensions (models/asr/MODEL_CARD.md): a 300-frame (6 s) audio context
// and 96-wide encoder and decoder. Every official whisper model has an audio context of 1500 and
// a width of 384 or more, so these recognise the bundled model wherever it is copied and however
// it is named.
const (
	demoAudioCtx = 300
	demoState    = 96
)

// DemoModelWarning is what sentio says, once, when the ASR model is the bundled demo model
// (config.DefaultASRModel).
const DemoModelWarning = "the ASR model is sentio's bundled demo model, which only knows its own training corpus: " +
	"real speech comes out as confident nonsense; for real conversations run `sentio models fetch base` " +
	"and set asr.model to the file it installs"

// Demo reports whether the model is the bundled demo model (config.DefaultASRModel), recognised
// by its dimensions.
func (m ModelInfo) Demo() bool {
	return m.AudioCtx == demoAudioCtx && m.AudioState == demoState && m.TextState == demoState
}
