package wire

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Header names of audio input. Every name starts with "Sentio-"; values are plain text.
const (
	// HeaderCallID repeats the call id, which is the last token of the subject (the subject is
	// what partitioning and permissions see). Optional; a value that disagrees with the subject is
	// rejected as bad_header.
	HeaderCallID = "Sentio-Call-Id"
	// HeaderMode is "clip" (one message is a whole recording) or "stream" (ordered chunks of a
	// live call). Absent means clip.
	HeaderMode = "Sentio-Mode"
	// HeaderSeq is the sequence number of a stream-mode chunk, from 0, without gaps.
	HeaderSeq = "Sentio-Seq"
	// HeaderCodec is the encoding of a stream-mode chunk (see Codec). In clip mode it is
	// optional: the container (WAV ...) is recognised from its bytes.
	HeaderCodec = "Sentio-Codec"
	// HeaderRate is the sample rate in Hz of a stream-mode chunk.
	HeaderRate = "Sentio-Rate"
	// HeaderChannels is the number of interleaved channels of a stream-mode chunk (default 1).
	HeaderChannels = "Sentio-Channels"
	// HeaderRole is the speaker role of the channels, comma separated in channel order
	// ("agent,customer"; a single value for mono). Absent means "unknown".
	HeaderRole = "Sentio-Role"
	// HeaderEnd marks the last chunk of a stream ("true"); the chunk may be empty.
	HeaderEnd = "Sentio-End"
	// HeaderOffset is the optional position of a chunk's first sample (per channel, at the
	// declared rate) from the start of the call; by default seq × the chunk's length.
	HeaderOffset = "Sentio-Offset"
	// HeaderObject names a NATS Object Store object holding the audio ("bucket/name") for clips
	// larger than the server's maximum payload; the message body is then empty.
	HeaderObject = "Sentio-Object"
)

// Header names sentio adds to DLQ entries (besides every original header).
const (
	// HeaderReason is the human-readable reason the input was rejected.
	HeaderReason = "Sentio-Reason"
	// HeaderReasonCode is a stable machine-readable reason (see the Reason* constants).
	HeaderReasonCode = "Sentio-Reason-Code"
	// HeaderStage is the pipeline stage that rejected the input.
	HeaderStage = "Sentio-Stage"
	// HeaderSubject is the subject the input was published on.
	HeaderSubject = "Sentio-Original-Subject"
	// HeaderDelivered is how many times the input had been delivered when it was rejected.
	HeaderDelivered = "Sentio-Delivered"
	// HeaderMissing names the chunks a sequence_gap entry reports lost ("5-7").
	HeaderMissing = "Sentio-Missing"
	// HeaderStreamSeq is the input's sequence number in the audio stream.
	HeaderStreamSeq = "Sentio-Stream-Seq"
)

// Reason codes carried in HeaderReasonCode.
const (
	ReasonNotAudio       = "not_audio"
	ReasonTruncated      = "truncated"
	ReasonBadHeader      = "bad_header"
	ReasonMissingHeader  = "missing_header"
	ReasonEmpty          = "empty"
	ReasonTooLarge       = "too_large"
	ReasonBadRate        = "bad_rate"
	ReasonSequenceGap    = "sequence_gap"
	ReasonLateChunk      = "late_chunk"
	ReasonMaxDeliveries  = "max_deliveries"
	ReasonObjectNotFound = "object_not_found"
	// ReasonCallIDReused rejects the chunks of a second stream-mode recording published under a
	// call id that already names one (while the audio stream keeps its audio).
	ReasonCallIDReused = "call_id_reused"
)

// Mode is how audio arrives: whole clips or ordered chunks of a stream.
type Mode string

// The modes of audio input.
const (
	ModeClip   Mode = "clip"
	ModeStream Mode = "stream"
)

// Codec is the sample encoding of a stream-mode chunk.
type Codec string

// The codecs of stream-mode chunks.
const (
	CodecS16LE Codec = "pcm_s16le" // signed 16-bit little-endian PCM
	CodecULaw  Codec = "mulaw"     // G.711 µ-law, 8 bits per sample
	CodecALaw  Codec = "alaw"      // G.711 A-law, 8 bits per sample
)

// BytesPerSample returns the size of one sample of c, or 0 when c is unknown.
func (c Codec) BytesPerSample() int {
	switch c {
	case CodecS16LE:
		return 2
	case CodecULaw, CodecALaw:
		return 1
	}
	return 0
}

// HeaderError is a missing or malformed header: the input can never succeed as sent.
type HeaderError struct {
	// Header is the header name.
	Header string
	// Code is ReasonMissingHeader or ReasonBadHeader.
	Code string
	// Msg says what is wrong and what is expected.
	Msg string
}

func (e *HeaderError) Error() string { return e.Header + ": " + e.Msg }

// Chunk is the parsed header of one stream-mode chunk.
type Chunk struct {
	CallID   string
	Seq      uint64
	Codec    Codec
	Rate     int
	Channels int
	Roles    []string
	End      bool
	// Offset is the chunk's first sample from the start of the call (per channel, at Rate), or
	// -1 when the header is absent.
	Offset int64
	// Prompt is the chunk's HeaderPrompt ("" when absent).
	Prompt string
}

// MaxSeq is the highest chunk sequence number accepted: a billion 10 ms chunks (four months),
// far from where positions computed from it could overflow.
const MaxSeq = 1 << 30

// MaxCallLength bounds a chunk's Sentio-Offset: positions stay far from integer overflow.
const MaxCallLength = 31 * 24 * time.Hour

// MaxChunkDuration is the most audio one stream-mode chunk may hold: chunks are live audio,
// typically 20 ms to 1 s; a longer recording is a clip.
const MaxChunkDuration = 10 * time.Second

// MaxChannels is the most interleaved channels a chunk or clip may declare.
const MaxChannels = 8

// MinSampleRate and MaxSampleRate bound the sample rate of input audio, in Hz: declared by a
// stream-mode chunk or a raw clip (Sentio-Rate), or found in a WAV clip's header.
const (
	MinSampleRate = 4000
	MaxSampleRate = 384000
)

// ModeOf returns the mode the headers declare (clip when absent).
func ModeOf(h nats.Header) (Mode, error) {
	switch v := strings.ToLower(strings.TrimSpace(h.Get(HeaderMode))); v {
	case "", string(ModeClip):
		return ModeClip, nil
	case string(ModeStream):
		return ModeStream, nil
	default:
		return "", &HeaderError{HeaderMode, ReasonBadHeader, fmt.Sprintf("%q is not a mode; use clip or stream", v)}
	}
}

// CallID returns the call id: the last token of subject. Headers never override it.
func CallID(subject string) string {
	if i := strings.LastIndexByte(subject, '.'); i >= 0 {
		return subject[i+1:]
	}
	return subject
}

// CheckCallID returns the call id of a message (the last subject token), or an error when it is
// not a valid call id or a Sentio-Call-Id header disagrees with it.
func CheckCallID(h nats.Header, subject string) (string, error) {
	id := CallID(subject)
	if err := ValidCallID(id); err != nil {
		return id, &HeaderError{HeaderCallID, ReasonBadHeader, "the subject's last token: " + err.Error()}
	}
	if v := h.Get(HeaderCallID); v != "" && v != id {
		return id, &HeaderError{HeaderCallID, ReasonBadHeader, fmt.Sprintf(
			"%q disagrees with the call id %q of the subject %q; the subject names the call (drop the header or make it equal)", v, id, subject)}
	}
	return id, nil
}

// Roles splits a HeaderRole value for n channels; missing roles are "unknown".
func Roles(v string, n int) []string {
	roles := make([]string, n)
	parts := strings.Split(v, ",")
	for i := range roles {
		roles[i] = "unknown"
		if i < len(parts) && strings.TrimSpace(parts[i]) != "" {
			roles[i] = strings.ToLower(strings.TrimSpace(parts[i]))
		}
	}
	return roles
}

// ParseChunk validates the headers of a stream-mode chunk.
func ParseChunk(h nats.Header, subject string) (Chunk, error) {
	c := Chunk{CallID: CallID(subject), Channels: 1, Offset: -1}
	seq := h.Get(HeaderSeq)
	if seq == "" {
		return c, &HeaderError{HeaderSeq, ReasonMissingHeader, "a stream-mode chunk needs its sequence number (0, 1, 2 ...)"}
	}
	var err error
	if c.Seq, err = strconv.ParseUint(strings.TrimSpace(seq), 10, 64); err != nil || c.Seq > MaxSeq {
		return c, &HeaderError{HeaderSeq, ReasonBadHeader, fmt.Sprintf("%q is not an integer between 0 and %d", seq, uint64(MaxSeq))}
	}
	c.End = strings.EqualFold(strings.TrimSpace(h.Get(HeaderEnd)), "true")
	codec := Codec(strings.ToLower(strings.TrimSpace(h.Get(HeaderCodec))))
	if codec == "" {
		return c, &HeaderError{HeaderCodec, ReasonMissingHeader, "a stream-mode chunk needs its codec (pcm_s16le, mulaw or alaw)"}
	}
	if codec.BytesPerSample() == 0 {
		return c, &HeaderError{HeaderCodec, ReasonBadHeader, fmt.Sprintf("%q is not a supported codec; use pcm_s16le, mulaw or alaw", codec)}
	}
	c.Codec = codec
	rate := h.Get(HeaderRate)
	if rate == "" {
		return c, &HeaderError{HeaderRate, ReasonMissingHeader, "a stream-mode chunk needs its sample rate in Hz"}
	}
	if c.Rate, err = strconv.Atoi(strings.TrimSpace(rate)); err != nil || c.Rate < MinSampleRate || c.Rate > MaxSampleRate {
		return c, &HeaderError{HeaderRate, ReasonBadRate, fmt.Sprintf("%q is not a sample rate between %d and %d Hz", rate, MinSampleRate, MaxSampleRate)}
	}
	if ch := h.Get(HeaderChannels); ch != "" {
		if c.Channels, err = strconv.Atoi(strings.TrimSpace(ch)); err != nil || c.Channels < 1 || c.Channels > MaxChannels {
			return c, &HeaderError{HeaderChannels, ReasonBadHeader, fmt.Sprintf("%q is not a channel count between 1 and %d", ch, MaxChannels)}
		}
	}
	c.Roles = Roles(h.Get(HeaderRole), c.Channels)
	if c.Prompt, err = PromptOf(h); err != nil {
		return c, err
	}
	if off := h.Get(HeaderOffset); off != "" {
		maxOff := int64(MaxCallLength/time.Second) * int64(c.Rate)
		if c.Offset, err = strconv.ParseInt(strings.TrimSpace(off), 10, 64); err != nil || c.Offset < 0 || c.Offset > maxOff {
			return c, &HeaderError{HeaderOffset, ReasonBadHeader, fmt.Sprintf(
				"%q is not a sample offset between 0 and %d (%s at %d Hz)", off, maxOff, MaxCallLength, c.Rate)}
		}
	}
	return c, nil
}

// Header returns the headers that describe c, for publishers.
func (c Chunk) Header() nats.Header {
	h := nats.Header{}
	h.Set(HeaderCallID, c.CallID)
	h.Set(HeaderMode, string(ModeStream))
	h.Set(HeaderSeq, strconv.FormatUint(c.Seq, 10))
	h.Set(HeaderCodec, string(c.Codec))
	h.Set(HeaderRate, strconv.Itoa(c.Rate))
	h.Set(HeaderChannels, strconv.Itoa(c.Channels))
	if len(c.Roles) > 0 {
		h.Set(HeaderRole, strings.Join(c.Roles, ","))
	}
	if c.End {
		h.Set(HeaderEnd, "true")
	}
	if c.Offset >= 0 {
		h.Set(HeaderOffset, strconv.FormatInt(c.Offset, 10))
	}
	if c.Prompt != "" {
		h.Set(HeaderPrompt, c.Prompt)
	}
	return h
}
