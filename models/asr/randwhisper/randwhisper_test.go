package randwhisper

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// tinyDims are small enough to write in a test in milliseconds.
var tinyDims = Dims{"test", 64, 2, 1, 1}

// source writes a minimal model to copy from: a header, 2×3 mel filters and three tokens.
func source(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	le := func(v any) {
		if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
			t.Fatal(err)
		}
	}
	le(uint32(magic))
	le([]int32{nVocab, 300, 128, 2, 2, 448, 128, 2, 2, 80, 1})
	le([]int32{2, 3})
	le([]float32{0.5, 0.25, 0, 1, 2, 3})
	le(int32(3))
	for _, w := range []string{"a", "bc", " "} {
		le(uint32(len(w)))
		b.WriteString(w)
	}
	p := filepath.Join(t.TempDir(), "src.bin")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The bytes written do not change unless FileName's version does (a cached file of the old
// version would otherwise be taken for the new one). They were checked equal, for the bundled
// model as source, to those of the generator the asr measurements of issue 16 used.
func TestWriteIsStable(t *testing.T) {
	src := source(t)
	for _, c := range []struct {
		eot  bool
		want string
	}{
		{false, "16531859c272071cac6b7b8e1a5f5043a4bee7d88743f4f42ab9757106fb3d20"},
		{true, "b2d223dcdbdf8604f6438be4288a938049342071858872cd6705122405c30e3f"},
	} {
		h := sha256.New()
		if err := Write(h, src, tinyDims, c.eot); err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != c.want {
			t.Errorf("eot %v: sha256 %s; want %s", c.eot, got, c.want)
		}
	}
}

// The file has whisper.cpp's layout: the official hyperparameters of the dimensions, the
// source's mel filters and vocabulary as they were, then the tensors; with eot the end-of-text
// token's embedding is the one channel the final layer norm lifts.
func TestWriteLayout(t *testing.T) {
	src := source(t)
	var out bytes.Buffer
	if err := Write(&out, src, tinyDims, true); err != nil {
		t.Fatal(err)
	}
	b := out.Bytes()
	i32 := func(off int) int32 { return int32(binary.LittleEndian.Uint32(b[off:])) }
	if uint32(i32(0)) != magic {
		t.Fatalf("magic %#x", uint32(i32(0)))
	}
	want := []int32{nVocab, audioCtx, 64, 2, 1, textCtx, 64, 2, 1, mels, 1}
	for i, w := range want {
		if got := i32(4 + 4*i); got != w {
			t.Errorf("hyperparameter %d is %d; want %d", i, got, w)
		}
	}
	srcBytes, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	// Everything after the source's header (filters, vocabulary) is copied byte for byte.
	if rest := srcBytes[48:]; !bytes.Equal(b[48:48+len(rest)], rest) {
		t.Errorf("mel filters and vocabulary are not the source's")
	}
	off := 48 + len(srcBytes) - 48
	first := tensors(tinyDims)[0]
	if n := int(i32(off)); n != len(first.shape) {
		t.Errorf("first tensor has %d dims; want %d", n, len(first.shape))
	}
	nameLen := int(i32(off + 4))
	name := string(b[off+12+4*len(first.shape) : off+12+4*len(first.shape)+nameLen])
	if name != first.name {
		t.Errorf("first tensor %q; want %q", name, first.name)
	}
	// The tensors fill the rest of the file exactly.
	size := off
	for _, sp := range tensors(tinyDims) {
		n, el := 1, 2
		for _, s := range sp.shape {
			n *= s
		}
		if sp.f32 {
			el = 4
		}
		size += 12 + 4*len(sp.shape) + len(sp.name) + n*el
	}
	if size != len(b) {
		t.Errorf("%d bytes written; the tensors need %d", len(b), size)
	}
	for _, c := range []struct {
		name string
		eot  bool
		at   int
		want float32
	}{{"decoder.ln.bias", true, 0, 10}, {"decoder.ln.bias", false, 0, 0}, {"decoder.ln.bias", true, 1, 0}} {
		var sp spec
		for _, s := range tensors(tinyDims) {
			if s.name == c.name {
				sp = s
			}
		}
		if got := sp.values(nil, c.eot)[c.at]; got != c.want {
			t.Errorf("%s[%d] with eot %v is %v; want %v", c.name, c.at, c.eot, got, c.want)
		}
	}
}

func TestFloat16(t *testing.T) {
	for _, c := range []struct {
		v    float32
		want uint16
	}{{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {0.5, 0x3800}, {65504, 0x7bff}, {1e6, 0x7c00}, {1e-8, 0}, {-1e-8, 0x8000}} {
		if got := float16(c.v); got != c.want {
			t.Errorf("float16(%v) = %#04x; want %#04x", c.v, got, c.want)
		}
	}
}

func TestCachedWritesOnceUnderItsName(t *testing.T) {
	src, dir := source(t), t.TempDir()
	p, err := Cached(dir, src, tinyDims, true)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "ggml-random-test-eot-v1.bin" {
		t.Errorf("file %s", p)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	// A second call finds the file and does not read the source again.
	if err := os.Rename(src, src+".gone"); err != nil {
		t.Fatal(err)
	}
	p2, err := Cached(dir, src, tinyDims, true)
	if err != nil || p2 != p {
		t.Fatalf("second call: %s, %v", p2, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the directory; want the model alone", len(entries))
	}
	if st2, _ := os.Stat(p); st2.Size() != st.Size() {
		t.Errorf("rewritten")
	}
}

func TestOfficial(t *testing.T) {
	if _, err := Official("medium"); err == nil {
		t.Errorf("Official(medium) has no error")
	}
	if d, err := Official("base"); err != nil || d != Base {
		t.Errorf("Official(base) = %v, %v", d, err)
	}
}
