// Package audio decodes the audio sentio accepts into what whisper.cpp wants: 16 kHz mono
// float32 samples in [-1, 1].
//
// Accepted input: WAV (PCM 8/16/24/32-bit integer, 32/64-bit float, G.711 mu-law and A-law,
// plain or WAVE_FORMAT_EXTENSIBLE, any channel count up to MaxChannels), raw PCM s16le with a
// declared sample rate and channel count, and raw G.711 mu-law / A-law (8 kHz unless declared
// otherwise). Several channels are mixed down to mono unless Options.Channel selects one.
// Anything else is rejected with an error that names the problem and matches one of the kinds
// in errors.go (ErrNotAudio, ErrTruncated ...) with errors.Is, and the container formats sentio
// does not decode (MP3, Ogg, FLAC, MP4 ...) are recognised and named.
//
// Decoding is bounded: every allocation is proportional to the input's size, and the decoded
// duration is limited by Options.MaxDuration, so hostile input cannot make the decoder allocate
// without bound. The decoders are fuzzed (go test -fuzz, see fuzz_test.go).
package audio

import (
	"fmt"
	"time"

	"github.com/sentio-health/sentio/asr/resample"
	"github.com/sentio-health/sentio/wire"
)

// SampleRate is the sample rate of decoded audio (whisper.cpp's WHISPER_SAMPLE_RATE).
const SampleRate = 16000

// MaxChannels is the largest channel count accepted.
const MaxChannels = 64

// MinSampleRate and MaxSampleRate bound the source sample rates accepted: the input limits of the
// wire contract, the same for clips and stream chunks.
const (
	MinSampleRate = wire.MinSampleRate
	MaxSampleRate = wire.MaxSampleRate
)

// DefaultMaxDuration is the longest audio decoded when Options.MaxDuration is zero.
const DefaultMaxDuration = 10 * time.Minute

// Format names an input encoding.
type Format string

// The input formats. FormatAuto recognises WAV by its header; raw formats carry no header and
// must be named.
const (
	FormatAuto  Format = ""
	FormatWAV   Format = "wav"
	FormatS16LE Format = "s16le"
	FormatMulaw Format = "mulaw"
	FormatAlaw  Format = "alaw"
)

// Formats lists the named formats, for help texts and validation.
var Formats = []Format{FormatWAV, FormatS16LE, FormatMulaw, FormatAlaw}

// ParseFormat maps a user-given name (wav, s16le/pcm, mulaw/ulaw/pcmu, alaw/pcma, auto or
// empty) to a Format.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "auto":
		return FormatAuto, nil
	case "wav", "wave":
		return FormatWAV, nil
	case "s16le", "pcm", "raw":
		return FormatS16LE, nil
	case "mulaw", "ulaw", "mu-law", "pcmu", "g711u":
		return FormatMulaw, nil
	case "alaw", "a-law", "pcma", "g711a":
		return FormatAlaw, nil
	}
	return "", fmt.Errorf("audio: unknown format %q (want one of auto, wav, s16le, mulaw, alaw)", s)
}

// Options says how to decode.
type Options struct {
	// Format is the input encoding; FormatAuto accepts WAV and names anything else.
	Format Format
	// SampleRate is the declared sample rate of raw input (s16le needs it; G.711 defaults to
	// 8000). WAV carries its own and ignores it.
	SampleRate int
	// Channels is the declared channel count of raw input (default 1). WAV ignores it.
	Channels int
	// Channel selects one channel, counted from 1; 0 mixes all channels down to mono.
	Channel int
	// MaxDuration rejects longer input; 0 means DefaultMaxDuration.
	MaxDuration time.Duration
	// KeepRate returns the samples at the input's own rate (Audio.SourceRate) instead of
	// resampling them to SampleRate: for a caller that resamples a stream itself, chunk after
	// chunk, with context across chunk edges.
	KeepRate bool
}

// Audio is decoded audio.
type Audio struct {
	// Samples are mono float32 samples at SampleRate (16 kHz), in [-1, 1].
	Samples []float32
	// SourceFormat describes the input encoding, e.g. "wav pcm 24-bit" or "raw mulaw".
	SourceFormat string
	// SourceRate and SourceChannels are the input's sample rate and channel count.
	SourceRate     int
	SourceChannels int
}

// Duration returns the length of the decoded audio.
func (a *Audio) Duration() time.Duration {
	return time.Duration(len(a.Samples)) * time.Second / SampleRate
}

// Decode decodes data per opt into 16 kHz mono float32 samples.
func Decode(data []byte, opt Options) (*Audio, error) {
	if opt.MaxDuration < 0 {
		return nil, fmt.Errorf("audio: maximum duration %v is negative", opt.MaxDuration)
	}
	if opt.MaxDuration == 0 {
		opt.MaxDuration = DefaultMaxDuration
	}
	if opt.Channel < 0 {
		return nil, fmt.Errorf("audio: channel %d selected; channels count from 1 (0 mixes all)", opt.Channel)
	}
	var (
		pcm *frames
		err error
	)
	switch opt.Format {
	case FormatAuto:
		if !isWAV(data) {
			return nil, unrecognised(data)
		}
		pcm, err = decodeWAV(data, opt)
	case FormatWAV:
		pcm, err = decodeWAV(data, opt)
	case FormatS16LE:
		pcm, err = decodeRaw(data, opt, "raw pcm", 0, 2)
	case FormatMulaw:
		pcm, err = decodeRaw(data, opt, "raw mulaw", 8000, 1)
	case FormatAlaw:
		pcm, err = decodeRaw(data, opt, "raw alaw", 8000, 1)
	default:
		return nil, fmt.Errorf("audio: unknown format %q (want one of auto, wav, s16le, mulaw, alaw)", opt.Format)
	}
	if err != nil {
		return nil, err
	}
	if opt.KeepRate {
		if len(pcm.mono) == 0 {
			return nil, fmt.Errorf("%s: no samples: %w", pcm.what, ErrNoSamples)
		}
		return &Audio{Samples: pcm.mono, SourceFormat: pcm.what, SourceRate: pcm.rate, SourceChannels: pcm.channels}, nil
	}
	out, err := resample.Resample(pcm.mono, pcm.rate, SampleRate)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pcm.what, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %d frame(s) at %d Hz is too short to resample to %d Hz: %w", pcm.what, len(pcm.mono), pcm.rate, SampleRate, ErrNoSamples)
	}
	return &Audio{Samples: out, SourceFormat: pcm.what, SourceRate: pcm.rate, SourceChannels: pcm.channels}, nil
}

// frames is decoded audio at its source rate, already reduced to one channel.
type frames struct {
	what     string
	rate     int
	channels int
	mono     []float32
}

// checkLayout validates a rate, channel count and selected channel, and the duration of n
// frames against the maximum.
func checkLayout(what string, rate, channels int, opt Options, n int) error {
	if rate == 0 {
		return fail(ErrBadRate, "%s: declared sample rate 0", what)
	}
	if rate < MinSampleRate || rate > MaxSampleRate {
		return fail(ErrBadRate, "%s: sample rate %d Hz is outside the supported %d..%d Hz", what, rate, MinSampleRate, MaxSampleRate)
	}
	if channels == 0 {
		return fail(ErrNotAudio, "%s: declared channel count 0", what)
	}
	if channels < 0 || channels > MaxChannels {
		return fail(ErrNotAudio, "%s: %d channels is outside the supported 1..%d", what, channels, MaxChannels)
	}
	if opt.Channel > channels {
		return fmt.Errorf("%s: channel %d selected, but the audio has %d channel(s)", what, opt.Channel, channels)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNoSamples)
	}
	if d := time.Duration(float64(n) / float64(rate) * float64(time.Second)); d > opt.MaxDuration {
		return fail(ErrTooLong, "%s: %v of audio exceeds the maximum of %v", what, d.Round(time.Millisecond), opt.MaxDuration)
	}
	return nil
}

// sizeString prints a byte count the way people read it (12 kB, 4.0 GB).
func sizeString(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d kB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
