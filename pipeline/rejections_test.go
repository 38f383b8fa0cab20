package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sentio-health/sentio/asr/audio"
	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// Each DLQ reason code for undecodable audio, from a real bad input fed to audio.Decode: the
// code follows the error's kind (errors.Is), not its wording.
func TestDecodeRejectionCodes(t *testing.T) {
	good := wav(tone(1, [2]float64{0.2, 0.8}), 16000)
	with := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	for _, c := range []struct {
		name string
		data []byte
		opt  audio.Options
		kind error
		code string
	}{
		{"empty", nil, audio.Options{}, audio.ErrNoSamples, wire.ReasonEmpty},
		{"no samples in the data chunk", wav(nil, 16000), audio.Options{}, audio.ErrNoSamples, wire.ReasonEmpty},
		{"raw, less than a frame", []byte{1}, audio.Options{Format: audio.FormatS16LE, SampleRate: 8000}, audio.ErrNoSamples, wire.ReasonEmpty},
		{"wav cut short", good[:len(good)/2], audio.Options{}, audio.ErrTruncated, wire.ReasonTruncated},
		{"fmt chunk past the end", with(func(b []byte) { binary.LittleEndian.PutUint32(b[16:], 1<<20) }), audio.Options{}, audio.ErrTruncated, wire.ReasonTruncated},
		{"wav header cut short", good[:10], audio.Options{Format: audio.FormatWAV}, audio.ErrTruncated, wire.ReasonTruncated},
		{"too long", good, audio.Options{MaxDuration: 500 * time.Millisecond}, audio.ErrTooLong, wire.ReasonTooLarge},
		{"rate 0 in the header", with(func(b []byte) { binary.LittleEndian.PutUint32(b[24:], 0) }), audio.Options{}, audio.ErrBadRate, wire.ReasonBadRate},
		{"rate 1 MHz in the header", with(func(b []byte) { binary.LittleEndian.PutUint32(b[24:], 1_000_000) }), audio.Options{}, audio.ErrBadRate, wire.ReasonBadRate},
		{"raw without a rate", good[44:], audio.Options{Format: audio.FormatS16LE}, audio.ErrBadRate, wire.ReasonBadRate},
		{"garbage", []byte("\x00\x01\x02\x03\x04\x05\x06\x07\xfe\xfd\xfc\xfb\xfa"), audio.Options{}, audio.ErrNotAudio, wire.ReasonNotAudio},
		{"a PDF", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"), audio.Options{}, audio.ErrNotAudio, wire.ReasonNotAudio},
		{"IMA ADPCM wav", with(func(b []byte) { binary.LittleEndian.PutUint16(b[20:], 0x0011) }), audio.Options{}, audio.ErrNotAudio, wire.ReasonNotAudio},
		{"wav sent as raw", good, audio.Options{Format: audio.FormatMulaw}, audio.ErrNotAudio, wire.ReasonNotAudio},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := audio.Decode(c.data, c.opt)
			if err == nil {
				t.Fatal("decoded")
			}
			if !errors.Is(err, c.kind) {
				t.Errorf("error %q is not %v", err, c.kind)
			}
			// Wrapped on the way (as the stages do), the kind still decides.
			for _, e := range []error{err, fmt.Errorf("clip c1: %w", err)} {
				var rej *stages.Rejection
				if !errors.As(decodeRejection(e), &rej) {
					t.Fatalf("decodeRejection(%q) is not a *stages.Rejection", e)
				}
				if rej.Code != c.code || rej.Err != e {
					t.Errorf("decodeRejection(%q) = code %q, err %v; want %q and the error itself", e, rej.Code, rej.Err, c.code)
				}
			}
		})
	}
}

// An error of no known kind (not from audio.Decode) is not_audio.
func TestDecodeRejectionDefault(t *testing.T) {
	var rej *stages.Rejection
	if err := decodeRejection(errors.New("resample: soxr failed")); !errors.As(err, &rej) || rej.Code != wire.ReasonNotAudio {
		t.Fatalf("got %v, want a %s rejection", err, wire.ReasonNotAudio)
	}
}
