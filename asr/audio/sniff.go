package audio

import (
	"bytes"
	"unicode/utf8"
)

// isWAV reports whether data starts with a RIFF/WAVE header.
func isWAV(data []byte) bool {
	return len(data) >= 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WAVE"
}

// unrecognised builds the error for input that is not WAV, naming what it looks like.
func unrecognised(data []byte) error {
	if len(data) == 0 {
		return fail(ErrNoSamples, "audio: empty input")
	}
	if name := sniff(data); name != "" {
		return fail(ErrNotAudio, "unsupported format: looks like %s; sentio decodes WAV, raw s16le and G.711 (convert with e.g. sox in.x -r 16000 -c 1 -b 16 out.wav)", name)
	}
	return fail(ErrNotAudio, "unsupported format: not a WAV file (no RIFF/WAVE header); raw audio needs its format declared (s16le, mulaw, alaw)")
}

// sniff names well-known audio and non-audio formats by their magic bytes.
func sniff(b []byte) string {
	has := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && string(b[off:off+len(magic)]) == magic
	}
	switch {
	case has(0, "RIFF") && has(8, "WAVE"):
		return "WAV"
	case has(0, "RF64") || has(0, "BW64"):
		return "RF64/BW64 (64-bit WAV)"
	case has(0, "RIFF") && has(8, "AVI "):
		return "AVI video"
	case has(0, "RIFF") && has(8, "WEBP"):
		return "a WebP image"
	case has(0, "RIFF"):
		return "a RIFF file that is not WAVE"
	case has(0, "RIFX"):
		return "big-endian RIFX WAV"
	case has(0, "ID3"):
		return "MP3 (ID3 tag)"
	case has(0, "OggS"):
		return "Ogg (Vorbis/Opus)"
	case has(0, "fLaC"):
		return "FLAC"
	case has(0, "FORM") && (has(8, "AIFF") || has(8, "AIFC")):
		return "AIFF"
	case has(0, ".snd"):
		return "Sun/NeXT AU"
	case has(0, "#!AMR"):
		return "AMR"
	case has(0, "\x1a\x45\xdf\xa3"):
		return "WebM/Matroska"
	case has(4, "ftyp"):
		return "MP4/M4A"
	case has(0, "\xff\xf1") || has(0, "\xff\xf9"):
		return "AAC (ADTS)"
	case len(b) >= 2 && b[0] == 0xff && b[1]&0xe0 == 0xe0:
		return "MP3 (MPEG audio frame)"
	case has(0, "caff"):
		return "Apple CAF"
	case has(0, "%PDF"):
		return "a PDF document"
	case has(0, "\x89PNG"):
		return "a PNG image"
	case has(0, "\xff\xd8\xff"):
		return "a JPEG image"
	case has(0, "PK\x03\x04"):
		return "a ZIP archive"
	case has(0, "\x1f\x8b"):
		return "gzip-compressed data"
	}
	head := b
	if len(head) > 512 {
		head = head[:512]
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return "JSON text"
	}
	if utf8.Valid(head) && bytes.IndexFunc(head, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\r' && r != '\t' }) < 0 {
		return "text"
	}
	return ""
}
