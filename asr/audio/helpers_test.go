package audio

import (
	"encoding/binary"
	"math"
)

// wavBytes builds a WAV file: fmt (plain, or WAVE_FORMAT_EXTENSIBLE) and data chunks, with an
// optional extra chunk before data.
func wavBytes(tag uint16, channels, rate, bits int, payload []byte, extensible bool, extra ...[]byte) []byte {
	le16 := func(b []byte, v int) []byte { return binary.LittleEndian.AppendUint16(b, uint16(v)) }
	le32 := func(b []byte, v int) []byte { return binary.LittleEndian.AppendUint32(b, uint32(v)) }
	width := (bits + 7) / 8
	var f []byte
	ftag := int(tag)
	if extensible {
		ftag = wavExtensible
	}
	f = le16(f, ftag)
	f = le16(f, channels)
	f = le32(f, rate)
	f = le32(f, rate*width*channels)
	f = le16(f, width*channels)
	f = le16(f, bits)
	if extensible {
		f = le16(f, 22)
		f = le16(f, bits)
		f = le32(f, 0)
		f = le16(f, int(tag))
		f = append(f, ksSubformatTail...)
	}
	var b []byte
	b = append(b, "RIFF"...)
	b = le32(b, 0) // patched below
	b = append(b, "WAVE"...)
	b = append(b, "fmt "...)
	b = le32(b, len(f))
	b = append(b, f...)
	for _, e := range extra {
		b = append(b, e...)
	}
	b = append(b, "data"...)
	b = le32(b, len(payload))
	b = append(b, payload...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// sine returns n samples of a sine at freq Hz, amplitude amp.
func sine(freq, amp float64, rate, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
	}
	return s
}

func s16(x []float64) []byte {
	var b []byte
	for _, v := range x {
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(math.Round(v*32767))))
	}
	return b
}
