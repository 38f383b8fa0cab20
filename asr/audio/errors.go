package audio

import (
	"errors"
	"fmt"
)

// The kinds of input Decode cannot decode. An error Decode returns for such input matches one of
// them with errors.Is (the pipeline maps them to DLQ reason codes), and its message names the
// details; the message is for people and may change, the kind may not. Errors about the Options
// themselves (a negative MaxDuration, an unknown Format, a channel the audio does not have)
// match none of them.
var (
	// ErrNoSamples: the input is empty, or decodes to no audio at all.
	ErrNoSamples = errors.New("no audio samples")
	// ErrTruncated: the input ends before what its header declares (a RIFF/WAVE header cut
	// short, a chunk that claims more bytes than the file holds).
	ErrTruncated = errors.New("truncated audio")
	// ErrBadRate: the sample rate is 0 or outside MinSampleRate..MaxSampleRate.
	ErrBadRate = errors.New("unsupported sample rate")
	// ErrTooLong: the audio lasts longer than Options.MaxDuration.
	ErrTooLong = errors.New("audio too long")
	// ErrNotAudio: the input is not audio sentio decodes: another format (MP3, Ogg, a PDF ...),
	// an encoding or layout WAV allows but sentio does not decode, or a malformed WAV header.
	ErrNotAudio = errors.New("not audio sentio decodes")
)

// decodeError is an error of one kind (one of the Err* above) with its own message.
type decodeError struct {
	kind error
	err  error
}

func (e *decodeError) Error() string   { return e.err.Error() }
func (e *decodeError) Unwrap() []error { return []error{e.kind, e.err} }

// fail returns an error of kind whose message is fmt.Errorf(format, args...).
func fail(kind error, format string, args ...any) error {
	return &decodeError{kind: kind, err: fmt.Errorf(format, args...)}
}
