// Package randwhisper writes whisper.cpp ggml models of official whisper dimensions with random
// weights. Official weights cannot be downloaded on the project's machines, and the work
// whisper.cpp does per window depends only on a model's dimensions, so such a model measures
// speed (encoder, language detection, decoder steps) and compares decoders; its text is
// deterministic garbage, so it measures no accuracy.
//
// The asr package's tests (asr/randmodel_test.go) and the capacity report (bench/capacity.sh,
// through the random-whisper command in cmd/random-whisper) use the same files.
package randwhisper

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Dims are the dimensions of a whisper model: what the encoder and decoder compute depends on
// them, not on the weights.
type Dims struct {
	// Name names the dimensions (tiny, base, small) in file names.
	Name string
	// State is the width of the encoder and decoder (n_audio_state = n_text_state).
	State int
	// Heads is the number of attention heads of both.
	Heads int
	// EncoderLayers and DecoderLayers are the numbers of transformer blocks.
	EncoderLayers, DecoderLayers int
}

// The official multilingual models' dimensions (OpenAI's model card) that share the layout this
// package writes: 80 mel bins and a vocabulary of 51865 (the large-v3 family has 128 and 51866).
var (
	Tiny  = Dims{"tiny", 384, 6, 4, 4}
	Base  = Dims{"base", 512, 8, 6, 6}
	Small = Dims{"small", 768, 12, 12, 12}
)

// Official returns the official dimensions called name (tiny, base or small).
func Official(name string) (Dims, error) {
	for _, d := range []Dims{Tiny, Base, Small} {
		if d.Name == name {
			return d, nil
		}
	}
	return Dims{}, fmt.Errorf("randwhisper: no official dimensions called %q (tiny, base or small)", name)
}

// The hyperparameters every official multilingual model of these sizes shares.
const (
	nVocab   = 51865
	audioCtx = 1500 // 30 s of audio
	textCtx  = 448
	mels     = 80
	eotID    = 50257 // whisper's <|endoftext|> in the multilingual vocabulary
	magic    = 0x67676d6c
)

// FileName is the name of the model file of dimensions d (with eot: the variant that ends each
// window at once, see Write). The version suffix changes whenever the bytes written change.
func FileName(d Dims, eot bool) string {
	name := d.Name
	if eot {
		name += "-eot"
	}
	return "ggml-random-" + name + "-v1.bin"
}

// CacheDir is where Cached keeps the files: sentio/random-whisper in the user's cache
// directory (~/.cache; the system temporary directory when there is none).
func CacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "sentio", "random-whisper")
}

// Cached returns the path of the model of dimensions d in dir (CacheDir when dir is empty),
// writing it first when it is not there (tiny: 75 MB, base: 145 MB). src is the whisper.cpp
// model whose mel filters and token texts are copied (the bundled models/asr/ggml-sentio-small.bin).
// The file appears under its name only once complete, so concurrent writers are harmless.
func Cached(dir, src string, d Dims, eot bool) (string, error) {
	if dir == "" {
		dir = CacheDir()
	}
	path := filepath.Join(dir, FileName(d, eot))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("randwhisper: the model directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "partial-*")
	if err != nil {
		return "", fmt.Errorf("randwhisper: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := Write(w, src, d, eot); err != nil {
		tmp.Close()
		return "", fmt.Errorf("randwhisper: writing a random %s model: %w", d.Name, err)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("randwhisper: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("randwhisper: writing %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("randwhisper: %w", err)
	}
	return path, nil
}

// Write writes a model of dimensions d in the ggml whisper format (whisper.cpp's
// whisper_model_load): the magic, eleven int32 hyperparameters (audio context 1500, text context
// 448, 80 mel bins, the multilingual vocabulary of 51865, f16), the mel filters and vocabulary
// copied from the model at src, then each tensor as n_dims, name length, type, dims (innermost
// first), name, data. Layer norms are the identity; other weights are random (a fixed seed per
// width, so the bytes are the same on every run) with scale 1/sqrt(fan-in), matrices in f16.
//
// With eot, the decoder's last layer norm has a bias along one channel and the end-of-text
// token's embedding points that way, so the decoder ends each window as soon as whisper.cpp's
// timestamp rules let it: such a model measures the encoder and the language detection without
// hundreds of garbage tokens per window (a real model's decoder, a few tokens per second of
// speech, costs more than this one's and less than the garbage's).
func Write(w io.Writer, src string, d Dims, eot bool) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var hdr [12]int32
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil {
		return fmt.Errorf("%s: the header: %w", src, err)
	}
	if uint32(hdr[0]) != magic {
		return fmt.Errorf("%s is not a whisper.cpp ggml model (magic %#x)", src, uint32(hdr[0]))
	}
	// Mel filters and vocabulary are copied as they are.
	var filt [2]int32
	if err := binary.Read(r, binary.LittleEndian, &filt); err != nil {
		return fmt.Errorf("%s: the mel filters: %w", src, err)
	}
	filters := make([]byte, 4*int(filt[0])*int(filt[1]))
	if _, err := io.ReadFull(r, filters); err != nil {
		return fmt.Errorf("%s: the mel filters: %w", src, err)
	}
	var nWords int32
	if err := binary.Read(r, binary.LittleEndian, &nWords); err != nil {
		return fmt.Errorf("%s: the vocabulary: %w", src, err)
	}
	var vocab []byte
	for i := 0; i < int(nWords); i++ {
		var n uint32
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return fmt.Errorf("%s: token %d: %w", src, i, err)
		}
		word := make([]byte, n)
		if _, err := io.ReadFull(r, word); err != nil {
			return fmt.Errorf("%s: token %d: %w", src, i, err)
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
	hparams := []int32{nVocab, audioCtx, int32(d.State), int32(d.Heads), int32(d.EncoderLayers), textCtx, int32(d.State), int32(d.Heads), int32(d.DecoderLayers), mels, 1}
	if err := put(uint32(magic), hparams, filt, filters, nWords, vocab); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, uint64(d.State)))
	buf := make([]byte, 0, 4096)
	for _, sp := range tensors(d) {
		if err := put(int32(len(sp.shape)), int32(len(sp.name)), sp.typ()); err != nil {
			return err
		}
		for i := len(sp.shape) - 1; i >= 0; i-- {
			if err := put(int32(sp.shape[i])); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, sp.name); err != nil {
			return err
		}
		vals := sp.values(rng, eot)
		buf = buf[:0]
		for _, v := range vals {
			if sp.f32 {
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
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// random marks a tensor whose values are drawn at random.
var random = float32(math.NaN())

// spec is one tensor: its name, type, value (random or a constant) and shape, outermost first
// (PyTorch's order).
type spec struct {
	name  string
	f32   bool
	value float32
	shape []int
}

func (sp spec) typ() int32 {
	if sp.f32 {
		return 0
	}
	return 1
}

// values are the tensor's values: the constant, or random values of scale 1/sqrt(fan-in) (0.02
// for vectors); with eot, the tweaks that make the decoder end each window at once.
func (sp spec) values(rng *rand.Rand, eot bool) []float32 {
	n := 1
	for _, s := range sp.shape {
		n *= s
	}
	scale := float32(0.02)
	if len(sp.shape) >= 2 {
		scale = float32(1 / math.Sqrt(float64(n/sp.shape[0])))
	}
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = sp.value
		if math.IsNaN(float64(sp.value)) {
			vals[i] = float32(rng.NormFloat64()) * scale
		}
	}
	if eot && sp.name == "decoder.ln.bias" {
		vals[0] = 10
	}
	if eot && sp.name == "decoder.token_embedding.weight" {
		width := sp.shape[1]
		clear(vals[eotID*width : (eotID+1)*width])
		vals[eotID*width] = 10
	}
	return vals
}

// tensors lists the tensors of a model of dimensions d in whisper.cpp's order. Positional
// embeddings and 1-D tensors are f32, conv biases (n, 1) f32, other matrices f16.
func tensors(d Dims) []spec {
	s := d.State
	norm := func(p string) []spec {
		return []spec{{p + ".weight", true, 1, []int{s}}, {p + ".bias", true, 0, []int{s}}}
	}
	attn := func(p string) []spec {
		return []spec{
			{p + ".query.weight", false, random, []int{s, s}}, {p + ".query.bias", true, random, []int{s}},
			{p + ".key.weight", false, random, []int{s, s}},
			{p + ".value.weight", false, random, []int{s, s}}, {p + ".value.bias", true, random, []int{s}},
			{p + ".out.weight", false, random, []int{s, s}}, {p + ".out.bias", true, random, []int{s}},
		}
	}
	mlp := func(p string) []spec {
		return append(norm(p+".mlp_ln"),
			spec{p + ".mlp.0.weight", false, random, []int{4 * s, s}}, spec{p + ".mlp.0.bias", true, random, []int{4 * s}},
			spec{p + ".mlp.2.weight", false, random, []int{s, 4 * s}}, spec{p + ".mlp.2.bias", true, random, []int{s}})
	}
	specs := []spec{
		{"encoder.positional_embedding", true, random, []int{audioCtx, s}},
		{"encoder.conv1.weight", false, random, []int{s, mels, 3}}, {"encoder.conv1.bias", true, random, []int{s, 1}},
		{"encoder.conv2.weight", false, random, []int{s, s, 3}}, {"encoder.conv2.bias", true, random, []int{s, 1}},
	}
	for i := 0; i < d.EncoderLayers; i++ {
		p := fmt.Sprintf("encoder.blocks.%d", i)
		specs = append(append(append(specs, norm(p+".attn_ln")...), attn(p+".attn")...), mlp(p)...)
	}
	specs = append(specs, norm("encoder.ln_post")...)
	specs = append(specs, spec{"decoder.positional_embedding", true, random, []int{textCtx, s}},
		spec{"decoder.token_embedding.weight", false, random, []int{nVocab, s}})
	for i := 0; i < d.DecoderLayers; i++ {
		p := fmt.Sprintf("decoder.blocks.%d", i)
		specs = append(append(append(specs, norm(p+".attn_ln")...), attn(p+".attn")...), norm(p+".cross_attn_ln")...)
		specs = append(append(specs, attn(p+".cross_attn")...), mlp(p)...)
	}
	return append(specs, norm("decoder.ln")...)
}

// float16 converts v to IEEE 754 half precision (round half up; values too small for a normal
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
		h++ // a carry into the exponent is still the right value
	}
	return h
}
