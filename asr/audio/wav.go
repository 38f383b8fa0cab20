package audio

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// WAV parsing is this package's own bounded RIFF reader rather than github.com/go-audio/wav
// (v1.1.0, with go-audio/riff v1.0.0), which is in go.mod but is not safe against hostile
// input: riff's chunk parser allocates the size a fmt chunk claims (make([]byte, size-16), up to
// 4 GB from a 44-byte file), its IDnSize compares `err != err` and so never reports a failed or
// truncated read, and the decoder supports neither IEEE float nor G.711 nor a sub-format GUID
// check for WAVE_FORMAT_EXTENSIBLE. The reader below works on the bytes in memory: every chunk
// size is checked against what the file really holds before it is used, and nothing is
// allocated from a size the file claims.

// WAV format tags (mmreg.h).
const (
	wavPCM        = 0x0001
	wavFloat      = 0x0003
	wavAlaw       = 0x0006
	wavMulaw      = 0x0007
	wavExtensible = 0xFFFE
)

// wavTagNames names format tags that are seen in the wild but not decoded here.
var wavTagNames = map[uint16]string{
	0x0002: "Microsoft ADPCM",
	0x0011: "IMA ADPCM",
	0x0022: "TrueSpeech",
	0x0031: "GSM 6.10",
	0x0040: "G.721 ADPCM",
	0x0050: "MPEG",
	0x0055: "MP3",
	0x0064: "G.726 ADPCM",
	0x0065: "G.722 ADPCM",
	0x00FF: "AAC",
	0x0161: "WMA",
	0x1610: "AAC (HE)",
	0x6750: "Vorbis",
	0xF1AC: "FLAC",
}

// ksSubformatTail is the part of a KSDATAFORMAT_SUBTYPE_* GUID after its leading format tag.
var ksSubformatTail = []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// wavFormat is the part of a fmt chunk that decoding needs.
type wavFormat struct {
	tag        uint16
	channels   int
	rate       int
	blockAlign int
	bits       int
	extensible bool
}

// decodeWAV decodes a RIFF/WAVE file held in data.
func decodeWAV(data []byte, opt Options) (*frames, error) {
	if len(data) < 12 {
		return nil, fail(ErrTruncated, "wav: input is %s, shorter than a RIFF/WAVE header", sizeString(uint64(len(data))))
	}
	if !isWAV(data) {
		if name := sniff(data); name != "" {
			return nil, fail(ErrNotAudio, "wav: not a RIFF/WAVE file (looks like %s)", name)
		}
		return nil, fail(ErrNotAudio, "wav: not a RIFF/WAVE file (no RIFF/WAVE header)")
	}
	var (
		f       *wavFormat
		payload []byte
		found   bool
	)
	pos := 12
	for !found {
		if len(data)-pos < 8 {
			break
		}
		id := string(data[pos : pos+4])
		size := uint64(binary.LittleEndian.Uint32(data[pos+4:]))
		pos += 8
		avail := uint64(len(data) - pos)
		switch id {
		case "fmt ":
			if size > avail {
				return nil, fail(ErrTruncated, "wav: fmt chunk claims %s, file has %s after its header", sizeString(size), sizeString(avail))
			}
			var err error
			if f, err = parseWAVFormat(data[pos : pos+int(size)]); err != nil {
				return nil, err
			}
		case "data":
			if f == nil {
				return nil, fail(ErrNotAudio, "wav: data chunk comes before the fmt chunk")
			}
			switch {
			case size == 0xFFFFFFFF || (size == 0 && avail > 0):
				// A streaming writer that did not know the length (ffmpeg and sox on a pipe)
				// leaves the size at -1 or 0; the data runs to the end of the file.
				size = avail
			case size > avail:
				return nil, fail(ErrTruncated, "wav: data chunk claims %s, file has %s after its header (truncated or corrupt)", sizeString(size), sizeString(avail))
			}
			payload = data[pos : pos+int(size)]
			found = true
		default:
			if size > avail {
				return nil, fail(ErrTruncated, "wav: %q chunk claims %s, file has %s after its header, and no data chunk came before it", id, sizeString(size), sizeString(avail))
			}
		}
		// Chunks are padded to an even length; a missing pad byte at the very end is tolerated.
		pos += int(size + size&1)
		if pos > len(data) {
			pos = len(data)
		}
	}
	if f == nil {
		return nil, fail(ErrNotAudio, "wav: no fmt chunk")
	}
	if !found {
		return nil, fail(ErrNotAudio, "wav: no data chunk")
	}
	e, width, what, err := f.encoding()
	if err != nil {
		return nil, err
	}
	if err := checkLayout(what, f.rate, f.channels, opt, len(payload)/f.blockAlign); err != nil {
		return nil, err
	}
	return &frames{what: what, rate: f.rate, channels: f.channels, mono: toMono(payload, e, width, f.channels, opt.Channel)}, nil
}

// parseWAVFormat reads a fmt chunk.
func parseWAVFormat(c []byte) (*wavFormat, error) {
	if len(c) < 16 {
		return nil, fail(ErrNotAudio, "wav: fmt chunk is %d bytes, want at least 16", len(c))
	}
	f := &wavFormat{
		tag:        binary.LittleEndian.Uint16(c[0:]),
		channels:   int(binary.LittleEndian.Uint16(c[2:])),
		rate:       int(binary.LittleEndian.Uint32(c[4:])),
		blockAlign: int(binary.LittleEndian.Uint16(c[12:])),
		bits:       int(binary.LittleEndian.Uint16(c[14:])),
	}
	if f.tag == wavExtensible {
		if len(c) < 40 {
			return nil, fail(ErrNotAudio, "wav: WAVE_FORMAT_EXTENSIBLE fmt chunk is %d bytes, want 40", len(c))
		}
		if cb := binary.LittleEndian.Uint16(c[16:]); cb < 22 {
			return nil, fail(ErrNotAudio, "wav: WAVE_FORMAT_EXTENSIBLE extension is %d bytes, want 22", cb)
		}
		if !bytes.Equal(c[26:40], ksSubformatTail) {
			return nil, fail(ErrNotAudio, "wav: WAVE_FORMAT_EXTENSIBLE with an unknown sub-format GUID %x", c[24:40])
		}
		f.tag = binary.LittleEndian.Uint16(c[24:])
		f.extensible = true
	}
	return f, nil
}

// encoding maps the format to a sample encoding and its width in bytes, and describes it.
func (f *wavFormat) encoding() (encoding, int, string, error) {
	ext := ""
	if f.extensible {
		ext = " (extensible)"
	}
	if f.channels == 0 {
		return 0, 0, "", fail(ErrNotAudio, "wav: fmt chunk declares 0 channels")
	}
	width := (f.bits + 7) / 8
	var (
		e    encoding
		what string
	)
	switch f.tag {
	case wavPCM:
		what = fmt.Sprintf("wav pcm %d-bit%s", f.bits, ext)
		switch width {
		case 1:
			e = encU8
		case 2:
			e = encS16
		case 3:
			e = encS24
		case 4:
			e = encS32
		default:
			return 0, 0, "", fail(ErrNotAudio, "wav: %d-bit integer PCM is not supported (8, 16, 24 or 32 bits)", f.bits)
		}
	case wavFloat:
		what = fmt.Sprintf("wav float %d-bit%s", f.bits, ext)
		switch f.bits {
		case 32:
			e = encF32
		case 64:
			e = encF64
		default:
			return 0, 0, "", fail(ErrNotAudio, "wav: %d-bit float is not supported (32 or 64 bits)", f.bits)
		}
	case wavMulaw, wavAlaw:
		e, what = encMulaw, "wav mulaw"+ext
		if f.tag == wavAlaw {
			e, what = encAlaw, "wav alaw"+ext
		}
		if f.bits != 8 {
			return 0, 0, "", fail(ErrNotAudio, "%s: %d bits per sample, want 8", what, f.bits)
		}
	default:
		if name, ok := wavTagNames[f.tag]; ok {
			return 0, 0, "", fail(ErrNotAudio, "wav: format 0x%04x (%s) is not supported; convert to PCM (e.g. sox in.wav -e signed -b 16 out.wav)", f.tag, name)
		}
		return 0, 0, "", fail(ErrNotAudio, "wav: unknown format tag 0x%04x; sentio decodes PCM, float, mu-law and A-law WAV", f.tag)
	}
	if f.blockAlign != width*f.channels {
		return 0, 0, "", fail(ErrNotAudio, "%s: block align %d does not match %d channel(s) of %d bytes", what, f.blockAlign, f.channels, width)
	}
	return e, width, what, nil
}
