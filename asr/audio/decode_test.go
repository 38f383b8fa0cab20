package audio

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/zaf/g711"
)

func TestRejectionsNameTheProblem(t *testing.T) {
	pcm := s16(sine(440, 0.5, 8000, 800))
	good := wavBytes(wavPCM, 1, 8000, 16, pcm, false)
	huge := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(huge[40:], 0xFFFFFFF0) // data chunk size
	hugeFmt := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(hugeFmt[16:], 0xFFFFFFF0) // fmt chunk size
	stereo := wavBytes(wavPCM, 2, 8000, 16, pcm, false)
	adpcm := wavBytes(0x0011, 1, 8000, 4, pcm, false)
	noRate := wavBytes(wavPCM, 1, 0, 16, pcm, false)
	badAlign := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(badAlign[32:], 3)
	for _, c := range []struct {
		name string
		data []byte
		opt  Options
		want string
	}{
		{"huge data chunk", huge, Options{}, "wav: data chunk claims 4.0 GB, file has 1 kB"},
		{"huge fmt chunk", hugeFmt, Options{}, "wav: fmt chunk claims 4.0 GB"},
		{"truncated header", good[:10], Options{Format: FormatWAV}, "wav: input is 10 bytes"},
		{"no data chunk", good[:36], Options{}, "wav: no data chunk"},
		{"channel out of range", stereo, Options{Channel: 3}, "channel 3 selected, but the audio has 2 channel(s)"},
		{"adpcm", adpcm, Options{}, "format 0x0011 (IMA ADPCM) is not supported"},
		{"rate 0", noRate, Options{}, "wav pcm 16-bit: declared sample rate 0"},
		{"block align", badAlign, Options{}, "block align 3 does not match 1 channel(s) of 2 bytes"},
		{"too long", good, Options{MaxDuration: 50 * time.Millisecond}, "100ms of audio exceeds the maximum of 50ms"},
		{"raw rate 0", pcm, Options{Format: FormatS16LE}, "raw pcm: declared sample rate 0"},
		{"raw wav", good, Options{Format: FormatS16LE, SampleRate: 8000}, "raw pcm: the input starts with a RIFF/WAVE header"},
		{"raw empty", nil, Options{Format: FormatMulaw}, "raw mulaw: no audio samples"},
		{"raw channels", pcm, Options{Format: FormatAlaw, Channels: 1000}, "raw alaw: declared channel count 1000"},
		{"mp3", []byte("ID3\x04\x00\x00\x00\x00\x00\x00"), Options{}, "unsupported format: looks like MP3"},
		{"ogg", []byte("OggS\x00\x02\x00\x00"), Options{}, "unsupported format: looks like Ogg"},
		{"flac", []byte("fLaC\x00\x00\x00\x22"), Options{}, "unsupported format: looks like FLAC"},
		{"mp3 as wav", []byte("ID3\x04\x00\x00\x00\x00\x00\x00\x00\x00"), Options{Format: FormatWAV}, "wav: not a RIFF/WAVE file (looks like MP3"},
		{"empty", nil, Options{}, "audio: empty input"},
		{"negative channel", good, Options{Channel: -1}, "audio: channel -1 selected"},
	} {
		_, err := Decode(c.data, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// snr returns the signal-to-noise ratio of got against want in dB over their common length,
// skipping the edges where resampling filters settle.
func snr(want, got []float32) float64 {
	n := min(len(want), len(got))
	var sig, noise float64
	for i := n / 20; i < n-n/20; i++ {
		d := float64(want[i]) - float64(got[i])
		sig += float64(want[i]) * float64(want[i])
		noise += d * d
	}
	return 10 * math.Log10(sig/noise)
}

func TestDecodesEveryEncoding(t *testing.T) {
	// A 16 kHz reference tone, stored in each encoding, must come back at 16 kHz unchanged up to
	// the encoding's own quantisation.
	const rate = 16000
	ref := sine(440, 0.5, rate, rate/2)
	want := make([]float32, len(ref))
	for i, v := range ref {
		want[i] = float32(v)
	}
	var u8, s24, s32, f32, f64 []byte
	for _, v := range ref {
		u8 = append(u8, byte(int(math.Round(v*127))+128))
		i24 := int32(math.Round(v * (1<<23 - 1)))
		s24 = append(s24, byte(i24), byte(i24>>8), byte(i24>>16))
		s32 = binary.LittleEndian.AppendUint32(s32, uint32(int32(math.Round(v*(1<<31-1)))))
		f32 = binary.LittleEndian.AppendUint32(f32, math.Float32bits(float32(v)))
		f64 = binary.LittleEndian.AppendUint64(f64, math.Float64bits(v))
	}
	p16 := s16(ref)
	for _, c := range []struct {
		name   string
		data   []byte
		opt    Options
		minSNR float64
	}{
		{"u8", wavBytes(wavPCM, 1, rate, 8, u8, false), Options{}, 35},
		{"s16", wavBytes(wavPCM, 1, rate, 16, p16, false), Options{}, 80},
		{"s24 extensible", wavBytes(wavPCM, 1, rate, 24, s24, true), Options{}, 120},
		{"s32", wavBytes(wavPCM, 1, rate, 32, s32, false), Options{}, 120},
		{"f32", wavBytes(wavFloat, 1, rate, 32, f32, false), Options{}, 140},
		{"f64 extensible", wavBytes(wavFloat, 1, rate, 64, f64, true), Options{}, 140},
		{"wav mulaw", wavBytes(wavMulaw, 1, rate, 8, g711.EncodeUlaw(p16), false), Options{}, 30},
		{"wav alaw", wavBytes(wavAlaw, 1, rate, 8, g711.EncodeAlaw(p16), false), Options{}, 30},
		{"raw s16le", p16, Options{Format: FormatS16LE, SampleRate: rate}, 80},
		{"raw mulaw", g711.EncodeUlaw(p16), Options{Format: FormatMulaw, SampleRate: rate}, 30},
		{"raw alaw", g711.EncodeAlaw(p16), Options{Format: FormatAlaw, SampleRate: rate}, 30},
	} {
		a, err := Decode(c.data, c.opt)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(a.Samples) != len(want) {
			t.Errorf("%s: %d samples, want %d", c.name, len(a.Samples), len(want))
			continue
		}
		if s := snr(want, a.Samples); s < c.minSNR {
			t.Errorf("%s: SNR %.1f dB, want at least %.0f", c.name, s, c.minSNR)
		}
	}
}

func TestChannelSelectionAndMixdown(t *testing.T) {
	const rate = 16000
	left, right := sine(300, 0.4, rate, 1600), sine(700, 0.2, rate, 1600)
	var inter []float64
	for i := range left {
		inter = append(inter, left[i], right[i])
	}
	data := wavBytes(wavPCM, 2, rate, 16, s16(inter), false)
	for _, c := range []struct {
		channel int
		want    func(i int) float64
	}{
		{0, func(i int) float64 { return (left[i] + right[i]) / 2 }},
		{1, func(i int) float64 { return left[i] }},
		{2, func(i int) float64 { return right[i] }},
	} {
		a, err := Decode(data, Options{Channel: c.channel})
		if err != nil {
			t.Fatal(err)
		}
		if a.SourceChannels != 2 || len(a.Samples) != len(left) {
			t.Fatalf("channel %d: %d channels, %d samples", c.channel, a.SourceChannels, len(a.Samples))
		}
		for i, v := range a.Samples {
			if math.Abs(float64(v)-c.want(i)) > 1e-3 {
				t.Fatalf("channel %d: sample %d is %v, want %v", c.channel, i, v, c.want(i))
			}
		}
	}
}

func TestStreamingDataSize(t *testing.T) {
	// ffmpeg and sox writing to a pipe leave the data size at 0xFFFFFFFF: the data runs to EOF.
	pcm := s16(sine(440, 0.5, 16000, 1600))
	data := wavBytes(wavPCM, 1, 16000, 16, pcm, false)
	binary.LittleEndian.PutUint32(data[40:], 0xFFFFFFFF)
	a, err := Decode(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Samples) != 1600 {
		t.Fatalf("%d samples, want 1600", len(a.Samples))
	}
}
