package asr

import (
	"encoding/binary"
	"errors"
	"os"

	"github.com/sentio-health/sentio/config"
)

// whisperWindow is the audio context of whisper's own 30 s window (1500 encoder frames).
const whisperWindow = 1500

// FlashAttention reports whether whisper.cpp should run cfg's model with flash attention: only
// for whisper's 30 s window, the one whisper.cpp and the official models are tuned for.
//
// whisper.cpp 1.9.5's flash-attention path pads the decoder's cross-attention keys and values
// to a block size without masking the padding, which dilutes attention over a short window. For
// the bundled model (audio context 300, 6 s) that changed the logits by up to 4 and the text of
// 38% of test clips (character error rate 29% with flash attention, 1.0% without, identical to
// PyTorch; models/asr/MODEL_CARD.md). A model or asr.audio_ctx with another context therefore runs
// without it; it is faster with it, so official models at 1500 keep it.
func FlashAttention(cfg config.ASR) bool {
	ctx := cfg.AudioCtx
	if ctx == 0 {
		n, err := headerAudioCtx(cfg.Model)
		if err != nil {
			return true // whisper.cpp's default; loading reports what is wrong with the file
		}
		ctx = n
	}
	return ctx == whisperWindow
}

// headerAudioCtx reads n_audio_ctx from a ggml whisper model's header: the magic "ggml"
// (0x67676d6c little-endian), then n_vocab and n_audio_ctx as int32.
func headerAudioCtx(path string) (int, error) {
	h, err := readHeader(path)
	if err != nil {
		return 0, err
	}
	return int(h[2]), nil
}

// headerTextLayers reads n_text_layer from a ggml whisper model's header (the tenth int32, after
// the magic, n_vocab, the audio encoder's four and n_text_ctx, n_text_state, n_text_head).
func headerTextLayers(path string) (int, error) {
	h, err := readHeader(path)
	if err != nil {
		return 0, err
	}
	if h[9] <= 0 {
		return 0, errors.New("not a ggml whisper model")
	}
	return int(h[9]), nil
}

func readHeader(path string) ([10]int32, error) {
	var h [10]int32
	f, err := os.Open(path)
	if err != nil {
		return h, err
	}
	defer f.Close()
	if err := binary.Read(f, binary.LittleEndian, &h); err != nil {
		return h, err
	}
	if uint32(h[0]) != 0x67676d6c || h[2] <= 0 {
		return h, errors.New("not a ggml whisper model")
	}
	return h, nil
}
