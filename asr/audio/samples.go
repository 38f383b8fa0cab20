package audio

import (
	"encoding/binary"
	"math"

	"github.com/zaf/g711"
)

// encoding is how one sample is stored.
type encoding int

const (
	encU8 encoding = iota // unsigned 8-bit PCM (WAV's 8-bit)
	encS16
	encS24
	encS32
	encF32
	encF64
	encMulaw
	encAlaw
)

// sampleReader returns a function converting one stored sample to float32 in [-1, 1].
func sampleReader(e encoding) func([]byte) float32 {
	switch e {
	case encU8:
		return func(b []byte) float32 { return float32(int(b[0])-128) / 128 }
	case encS16:
		return func(b []byte) float32 { return float32(int16(binary.LittleEndian.Uint16(b))) / 32768 }
	case encS24:
		return func(b []byte) float32 {
			v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
			return float32(v) / (1 << 23)
		}
	case encS32:
		return func(b []byte) float32 { return float32(float64(int32(binary.LittleEndian.Uint32(b))) / (1 << 31)) }
	case encF32:
		return func(b []byte) float32 { return clean(float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))) }
	case encF64:
		return func(b []byte) float32 { return clean(math.Float64frombits(binary.LittleEndian.Uint64(b))) }
	case encMulaw:
		return func(b []byte) float32 { return float32(g711.DecodeUlawFrame(b[0])) / 32768 }
	case encAlaw:
		return func(b []byte) float32 { return float32(g711.DecodeAlawFrame(b[0])) / 32768 }
	}
	panic("audio: unknown sample encoding")
}

// clean maps a float sample into [-1, 1]; NaN (which would poison whisper's mel spectrogram)
// becomes silence.
func clean(v float64) float32 {
	switch {
	case math.IsNaN(v):
		return 0
	case v > 1:
		return 1
	case v < -1:
		return -1
	}
	return float32(v)
}

// toMono converts interleaved frames (each channels*width bytes; a trailing partial frame is
// ignored) into one channel: channel (from 1) or, when channel is 0, the mean of all channels.
func toMono(data []byte, e encoding, width, channels, channel int) []float32 {
	read := sampleReader(e)
	frame := width * channels
	n := len(data) / frame
	out := make([]float32, n)
	if channel > 0 || channels == 1 {
		off := 0
		if channel > 0 {
			off = (channel - 1) * width
		}
		for i := range out {
			out[i] = read(data[i*frame+off:])
		}
		return out
	}
	inv := 1 / float32(channels)
	for i := range out {
		var sum float32
		base := i * frame
		for c := 0; c < channels; c++ {
			sum += read(data[base+c*width:])
		}
		out[i] = sum * inv
	}
	return out
}
