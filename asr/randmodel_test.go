//go:build whisper

package asr

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
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

// randomModel returns the path of a whisper.cpp ggml model of official dimensions d (audio
// context 1500, text context 448, 80 mel bins, multilingual vocabulary of 51865) with random f16
// weights: official weights cannot be downloaded here, and whisper.cpp's work per window depends
// only on the dimensions, so such a model measures speed and compares decoders (its text is
// deterministic garbage), not accuracy. The file (tiny: 75 MB) is written once into the user's
// cache directory and reused; the mel filters and token texts are the bundled model's.
//
// With eot, the decoder's last layer norm has a bias along one channel and the end-of-text
// token's embedding points that way, so the decoder ends each window as soon as whisper.cpp's
// timestamp rules let it: such a model measures the encoder and the language detection (what
// the audio context changes) without hundreds of garbage tokens per window.
func randomModel(t testing.TB, d officialDims, eot bool) string {
	t.Helper()
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "sentio", "random-whisper")
	name := d.name
	if eot {
		name += "-eot"
	}
	path := filepath.Join(dir, "ggml-random-"+name+"-v1.bin")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.CreateTemp(dir, "partial-*")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := writeRandomModel(w, projectModel(t), d, eot); err != nil {
		t.Fatalf("writing a random %s model: %v", d.name, err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeRandomModel writes the ggml whisper format (whisper.cpp's whisper_model_load): the magic,
// eleven int32 hyperparameters, the mel filters and vocabulary (copied from the model at src),
// then each tensor as n_dims, name length, type, dims (innermost first), name, data.
func writeRandomModel(w io.Writer, src string, d officialDims, eot bool) error {
	const nVocab, audioCtx, textCtx, mels = 51865, 1500, 448, 80
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var hdr [12]int32
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil {
		return err
	}
	// Mel filters and vocabulary are copied as they are.
	var filt [2]int32
	if err := binary.Read(r, binary.LittleEndian, &filt); err != nil {
		return err
	}
	filters := make([]byte, 4*int(filt[0])*int(filt[1]))
	if _, err := io.ReadFull(r, filters); err != nil {
		return err
	}
	var nWords int32
	if err := binary.Read(r, binary.LittleEndian, &nWords); err != nil {
		return err
	}
	var vocab []byte
	for i := 0; i < int(nWords); i++ {
		var n uint32
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return err
		}
		word := make([]byte, n)
		if _, err := io.ReadFull(r, word); err != nil {
			return err
		}
		vocab = binary.LittleEndian.AppendUint32(vocab, n)
		vocab = append(vocab, word...)
	}

	put := func(v ...any) error {
		for _, x := range v {
			if err := binary.Write(w, binary.LittleEndian, x); err != nil {
				return err
			}
		}
		return nil
	}
	if err := put(uint32(0x67676d6c), []int32{nVocab, audioCtx, int32(d.state), int32(d.heads), int32(d.encL), textCtx, int32(d.state), int32(d.heads), int32(d.decL), mels, 1}, filt, filters, nWords, vocab); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, uint64(d.state)))
	// tensor writes one tensor; shape is outermost first (PyTorch's order). f32 tensors hold
	// value (layer norms) or random values; f16 ones random values of scale 1/sqrt(fan-in).
	tensor := func(name string, f32 bool, value float32, shape ...int) error {
		n := 1
		for _, s := range shape {
			n *= s
		}
		typ := int32(1)
		if f32 {
			typ = 0
		}
		if err := put(int32(len(shape)), int32(len(name)), typ); err != nil {
			return err
		}
		for i := len(shape) - 1; i >= 0; i-- {
			if err := put(int32(shape[i])); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, name); err != nil {
			return err
		}
		scale := float32(0.02)
		if len(shape) >= 2 {
			scale = float32(1 / math.Sqrt(float64(n/shape[0])))
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = value
			if math.IsNaN(float64(value)) {
				vals[i] = float32(rng.NormFloat64()) * scale
			}
		}
		if eot && name == "decoder.ln.bias" {
			vals[0] = 10
		}
		if eot && name == "decoder.token_embedding.weight" {
			const eotID = 50257 // whisper's <|endoftext|> in the multilingual vocabulary
			clear(vals[eotID*shape[1] : (eotID+1)*shape[1]])
			vals[eotID*shape[1]] = 10
		}
		buf := make([]byte, 0, 4096)
		for _, v := range vals {
			if f32 {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			} else {
				buf = binary.LittleEndian.AppendUint16(buf, float16(v))
			}
			if len(buf) >= 4000 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		_, err := w.Write(buf)
		return err
	}
	rnd := float32(math.NaN())
	s := d.state
	type spec struct {
		name  string
		f32   bool
		value float32
		shape []int
	}
	norm := func(p string) []spec {
		return []spec{{p + ".weight", true, 1, []int{s}}, {p + ".bias", true, 0, []int{s}}}
	}
	attn := func(p string) []spec {
		return []spec{
			{p + ".query.weight", false, rnd, []int{s, s}}, {p + ".query.bias", true, rnd, []int{s}},
			{p + ".key.weight", false, rnd, []int{s, s}},
			{p + ".value.weight", false, rnd, []int{s, s}}, {p + ".value.bias", true, rnd, []int{s}},
			{p + ".out.weight", false, rnd, []int{s, s}}, {p + ".out.bias", true, rnd, []int{s}},
		}
	}
	mlp := func(p string) []spec {
		return append(norm(p+".mlp_ln"),
			spec{p + ".mlp.0.weight", false, rnd, []int{4 * s, s}}, spec{p + ".mlp.0.bias", true, rnd, []int{4 * s}},
			spec{p + ".mlp.2.weight", false, rnd, []int{s, 4 * s}}, spec{p + ".mlp.2.bias", true, rnd, []int{s}})
	}
	specs := []spec{
		{"encoder.positional_embedding", true, rnd, []int{audioCtx, s}},
		{"encoder.conv1.weight", false, rnd, []int{s, mels, 3}}, {"encoder.conv1.bias", true, rnd, []int{s, 1}},
		{"encoder.conv2.weight", false, rnd, []int{s, s, 3}}, {"encoder.conv2.bias", true, rnd, []int{s, 1}},
	}
	for i := 0; i < d.encL; i++ {
		p := fmt.Sprintf("encoder.blocks.%d", i)
		specs = append(append(append(specs, norm(p+".attn_ln")...), attn(p+".attn")...), mlp(p)...)
	}
	specs = append(specs, norm("encoder.ln_post")...)
	specs = append(specs, spec{"decoder.positional_embedding", true, rnd, []int{textCtx, s}},
		spec{"decoder.token_embedding.weight", false, rnd, []int{nVocab, s}})
	for i := 0; i < d.decL; i++ {
		p := fmt.Sprintf("decoder.blocks.%d", i)
		specs = append(append(append(specs, norm(p+".attn_ln")...), attn(p+".attn")...), norm(p+".cross_attn_ln")...)
		specs = append(append(specs, attn(p+".cross_attn")...), mlp(p)...)
	}
	specs = append(specs, norm("decoder.ln")...)
	for _, sp := range specs {
		if err := tensor(sp.name, sp.f32, sp.value, sp.shape...); err != nil {
			return err
		}
	}
	return nil
}

// float16 converts v to IEEE 754 half precision (round to nearest; values too small for a normal
// half become 0, too large infinity).
func float16(v float32) uint16 {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case exp <= 0:
		return sign
	case exp >= 31:
		return sign | 0x7c00
	}
	h := sign | uint16(exp)<<10 | uint16(mant>>13)
	if mant&0x1000 != 0 {
		h++ // round half up; a carry into the exponent is still the right value
	}
	return h
}
