//go:build whisper

package asr

import (
	"testing"

	"github.com/sentio-health/sentio/models/asr/randwhisper"
)

// officialDims are the dimensions of official whisper models (OpenAI's model card): what the
// encoder and decoder compute depends on them, not on the weights.
type officialDims struct {
	name                     string
	state, heads, encL, decL int
}

var (
	dimsTiny = officialDims{"tiny", 384, 6, 4, 4}
	dimsBase = officialDims{"base", 512, 8, 6, 6}
)

// randomModel returns the path of a whisper.cpp ggml model of official dimensions d with random
// weights, written by models/asr/randwhisper (also behind `go run
// ./models/asr/randwhisper/cmd/random-whisper`): official weights cannot be downloaded here, and
// whisper.cpp's work per window depends only on the dimensions, so such a model measures speed
// and compares decoders (its text is deterministic garbage), not accuracy. The file (tiny:
// 75 MB) is written once into the user's cache directory and reused; the mel filters and token
// texts are the bundled model's.
//
// With eot, the decoder ends each window as soon as whisper.cpp's timestamp rules let it: such a
// model measures the encoder and the language detection (what the audio context changes)
// without hundreds of garbage tokens per window.
func randomModel(t testing.TB, d officialDims, eot bool) string {
	t.Helper()
	dims := randwhisper.Dims{Name: d.name, State: d.state, Heads: d.heads, EncoderLayers: d.encL, DecoderLayers: d.decL}
	p, err := randwhisper.Cached("", projectModel(t), dims, eot)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
