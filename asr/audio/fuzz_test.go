package audio

import (
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zaf/g711"
)

// errPrefixes are the prefixes every decoder error starts with: each names where it failed.
var errPrefixes = []string{"wav", "raw pcm:", "raw mulaw:", "raw alaw:", "audio:", "unsupported format:"}

// checkDecode runs Decode and asserts the invariants every input must satisfy: no panic (the
// fuzzer catches those), a bounded allocation, a bounded and finite output, and an error that
// names the problem.
func checkDecode(t *testing.T, data []byte, opt Options) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	a, err := Decode(data, opt)
	runtime.ReadMemStats(&after)
	// Every byte of input yields at most one frame at >= 4 kHz, so at most 4 output samples
	// (16 bytes) and one intermediate sample (4 bytes); allow generous slack.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64*uint64(len(data))+1<<20 {
		t.Fatalf("decoding %d bytes allocated %d bytes", len(data), alloc)
	}
	if err != nil {
		msg := err.Error()
		ok := false
		for _, p := range errPrefixes {
			if strings.HasPrefix(msg, p) && len(msg) > len(p)+8 {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("error does not name the decoder and the problem: %q", msg)
		}
		if a != nil {
			t.Fatalf("error %q with a result", msg)
		}
		return
	}
	if len(a.Samples) == 0 {
		t.Fatal("no error and no samples")
	}
	max := opt.MaxDuration
	if max == 0 {
		max = DefaultMaxDuration
	}
	if limit := int(max.Seconds()*SampleRate) + 16; len(a.Samples) > limit {
		t.Fatalf("%d samples exceed the maximum duration %v", len(a.Samples), max)
	}
	if len(a.Samples) > 4*len(data)+16 {
		t.Fatalf("%d samples from %d bytes", len(a.Samples), len(data))
	}
	for i, v := range a.Samples {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v > 2 || v < -2 {
			t.Fatalf("sample %d is %v", i, v)
		}
	}
}

func addWAVSeeds(f *testing.F) {
	tone := sine(440, 0.5, 8000, 800)
	pcm16 := s16(tone)
	f.Add(wavBytes(wavPCM, 1, 8000, 16, pcm16, false), uint8(0), uint16(0))
	f.Add(wavBytes(wavPCM, 2, 8000, 16, pcm16, false), uint8(2), uint16(0))
	f.Add(wavBytes(wavPCM, 1, 16000, 8, make([]byte, 400), false), uint8(0), uint16(0))
	f.Add(wavBytes(wavPCM, 1, 22050, 24, make([]byte, 600), true), uint8(0), uint16(0))
	f.Add(wavBytes(wavPCM, 1, 44100, 32, make([]byte, 800), false), uint8(0), uint16(0))
	f.Add(wavBytes(wavFloat, 1, 48000, 32, make([]byte, 800), false), uint8(0), uint16(0))
	f.Add(wavBytes(wavFloat, 1, 16000, 64, make([]byte, 800), true), uint8(0), uint16(0))
	f.Add(wavBytes(wavMulaw, 1, 8000, 8, g711.EncodeUlaw(pcm16), false), uint8(0), uint16(0))
	f.Add(wavBytes(wavAlaw, 1, 8000, 8, g711.EncodeAlaw(pcm16), false), uint8(0), uint16(0))
	f.Add(wavBytes(wavPCM, 1, 8000, 16, pcm16, false, []byte("LIST\x04\x00\x00\x00INFO")), uint8(0), uint16(100))
	trunc := wavBytes(wavPCM, 1, 8000, 16, pcm16, false)
	f.Add(trunc[:100], uint8(0), uint16(0))
	f.Add([]byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\xf0\xff\xff\xff\x00\x00"), uint8(0), uint16(0))
}

// FuzzDecodeWAV fuzzes the RIFF/WAVE decoder with a channel selector and a maximum duration.
func FuzzDecodeWAV(f *testing.F) {
	addWAVSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, channel uint8, maxMS uint16) {
		checkDecode(t, data, Options{Format: FormatWAV, Channel: int(channel % 4), MaxDuration: time.Duration(maxMS) * time.Millisecond})
	})
}

// FuzzDecodeAuto fuzzes format recognition: WAV or a named rejection.
func FuzzDecodeAuto(f *testing.F) {
	addWAVSeeds(f)
	for _, s := range []string{"ID3\x03\x00", "OggS\x00\x02", "fLaC\x00", "\xff\xfb\x90\x00", "{\"a\":1}", "hello", "\x00\x00\x00\x20ftypM4A "} {
		f.Add([]byte(s), uint8(0), uint16(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, channel uint8, maxMS uint16) {
		checkDecode(t, data, Options{Channel: int(channel % 4), MaxDuration: time.Duration(maxMS) * time.Millisecond})
	})
}

func fuzzRaw(f *testing.F, format Format) {
	pcm := s16(sine(300, 0.3, 8000, 400))
	if format != FormatS16LE {
		pcm = g711.EncodeUlaw(pcm)
	}
	f.Add(pcm, uint32(8000), uint8(1), uint8(0))
	f.Add(pcm, uint32(0), uint8(0), uint8(0))
	f.Add(pcm, uint32(48000), uint8(2), uint8(2))
	f.Add(pcm[:7], uint32(16000), uint8(3), uint8(1))
	f.Add(wavBytes(wavPCM, 1, 8000, 16, pcm, false), uint32(8000), uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, rate uint32, channels, channel uint8) {
		checkDecode(t, data, Options{Format: format, SampleRate: int(rate), Channels: int(channels), Channel: int(channel % 4)})
	})
}

// FuzzDecodeS16LE fuzzes raw s16le with declared rates and channel counts.
func FuzzDecodeS16LE(f *testing.F) { fuzzRaw(f, FormatS16LE) }

// FuzzDecodeMulaw fuzzes raw G.711 mu-law.
func FuzzDecodeMulaw(f *testing.F) { fuzzRaw(f, FormatMulaw) }

// FuzzDecodeAlaw fuzzes raw G.711 A-law.
func FuzzDecodeAlaw(f *testing.F) { fuzzRaw(f, FormatAlaw) }
