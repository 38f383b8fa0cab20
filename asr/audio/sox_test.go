package audio

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// need returns the path of a command the test needs; the toolbox has them all.
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (run the tests in the toolbox: toolbox/run go test ./asr/...)", name)
	}
	return p
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// soxReference converts a file to 16 kHz mono float32 with sox itself.
func soxReference(t *testing.T, in string, inArgs []string) []float32 {
	t.Helper()
	out := in + ".ref.f32"
	args := append(append([]string(nil), inArgs...), in, "-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", "16000", out)
	run(t, "sox", args...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return f
}

// TestAgainstSox decodes espeak-ng speech converted by sox into every supported encoding and
// compares the result with sox's own conversion of the same file to 16 kHz mono float.
func TestAgainstSox(t *testing.T) {
	need(t, "espeak-ng")
	need(t, "sox")
	dir := t.TempDir()
	speech := filepath.Join(dir, "speech.wav")
	run(t, "espeak-ng", "-v", "en", "-w", speech, "The patient reports chest pain since Monday morning.")
	other := filepath.Join(dir, "other.wav")
	run(t, "espeak-ng", "-v", "fr", "-w", other, "Le patient a mal au ventre depuis lundi matin.")
	stereo := filepath.Join(dir, "stereo.wav")
	run(t, "sox", "-M", speech, other, stereo, "trim", "0", "2.5")

	for _, c := range []struct {
		name    string
		file    string
		convert []string // sox output options (from speech.wav), nil to use file as is
		raw     []string // sox input options to read a raw file back
		opt     Options
		minSNR  float64
	}{
		{"16-bit 22.05 kHz", "a.wav", []string{}, nil, Options{}, 60},
		{"8-bit unsigned", "b.wav", []string{"-b", "8", "-e", "unsigned-integer"}, nil, Options{}, 60},
		{"24-bit", "c.wav", []string{"-b", "24"}, nil, Options{}, 60},
		{"32-bit 48 kHz", "d.wav", []string{"-b", "32", "-r", "48000"}, nil, Options{}, 60},
		{"float 44.1 kHz", "e.wav", []string{"-e", "floating-point", "-b", "32", "-r", "44100"}, nil, Options{}, 60},
		{"8 kHz pcm", "f.wav", []string{"-r", "8000"}, nil, Options{}, 60},
		{"mu-law wav 8 kHz", "g.wav", []string{"-e", "mu-law", "-r", "8000"}, nil, Options{}, 60},
		{"a-law wav 8 kHz", "h.wav", []string{"-e", "a-law", "-r", "8000"}, nil, Options{}, 60},
		{"4 channels (extensible)", "i.wav", []string{"-c", "4"}, nil, Options{}, 60},
		{"raw mu-law 8 kHz", "j.ul", []string{"-t", "ul", "-r", "8000"}, []string{"-t", "ul", "-r", "8000", "-c", "1"}, Options{Format: FormatMulaw}, 60},
		{"raw a-law 8 kHz", "k.al", []string{"-t", "al", "-r", "8000"}, []string{"-t", "al", "-r", "8000", "-c", "1"}, Options{Format: FormatAlaw}, 60},
		{"raw s16le 44.1 kHz stereo", "l.raw", []string{"-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-r", "44100", "-c", "2"},
			[]string{"-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-r", "44100", "-c", "2"}, Options{Format: FormatS16LE, SampleRate: 44100, Channels: 2}, 60},
		{"stereo mixdown", stereo, nil, nil, Options{}, 60},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := c.file
			if c.convert != nil {
				file = filepath.Join(dir, c.file)
				run(t, "sox", append(append([]string{speech}, c.convert...), file)...)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Decode(data, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			ref := soxReference(t, file, c.raw)
			if d := len(a.Samples) - len(ref); d < -2 || d > 2 {
				t.Errorf("%d samples, sox made %d", len(a.Samples), len(ref))
			}
			s := snr(ref, a.Samples)
			t.Logf("%s (%s, %d Hz, %d ch): SNR %.1f dB against sox", c.name, a.SourceFormat, a.SourceRate, a.SourceChannels, s)
			if s < c.minSNR {
				t.Errorf("SNR %.1f dB against sox's conversion, want at least %.0f dB", s, c.minSNR)
			}
		})
	}
}

// TestStereoChannelSelect checks the channel selector on a file whose channels differ.
func TestStereoChannelSelect(t *testing.T) {
	need(t, "espeak-ng")
	need(t, "sox")
	dir := t.TempDir()
	left, right := filepath.Join(dir, "l.wav"), filepath.Join(dir, "r.wav")
	run(t, "espeak-ng", "-v", "en", "-w", left, "Left channel speaking now.")
	run(t, "espeak-ng", "-v", "de", "-w", right, "Der rechte Kanal spricht jetzt.")
	stereo := filepath.Join(dir, "s.wav")
	run(t, "sox", "-M", left, right, stereo, "trim", "0", "1.5")
	data, err := os.ReadFile(stereo)
	if err != nil {
		t.Fatal(err)
	}
	for ch, args := range map[int][]string{1: {"remix", "1"}, 2: {"remix", "2"}} {
		a, err := Decode(data, Options{Channel: ch})
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "ch.f32")
		run(t, "sox", append([]string{stereo, "-t", "raw", "-e", "floating-point", "-b", "32", "-r", "16000", out}, args...)...)
		b, _ := os.ReadFile(out)
		ref := make([]float32, len(b)/4)
		for i := range ref {
			ref[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		if s := snr(ref, a.Samples); s < 60 {
			t.Errorf("channel %d: SNR %.1f dB against sox remix %s", ch, s, args[1])
		}
	}
}
