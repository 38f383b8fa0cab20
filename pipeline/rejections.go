package pipeline

import (
	"errors"

	"github.com/sentio-health/sentio/asr/audio"
	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// decodeCodes maps the kinds of audio.Decode errors to the DLQ reason codes they are rejected
// with. The codes are a wire contract: they follow the error's kind, never its wording.
var decodeCodes = []struct {
	kind error
	code string
}{
	{audio.ErrNoSamples, wire.ReasonEmpty},
	{audio.ErrTruncated, wire.ReasonTruncated},
	{audio.ErrTooLong, wire.ReasonTooLarge},
	{audio.ErrBadRate, wire.ReasonBadRate},
	{audio.ErrNotAudio, wire.ReasonNotAudio},
}

// decodeRejection rejects an input whose audio could not be decoded (err from audio.Decode),
// with the reason code of the error's kind; an error of no known kind is not_audio.
func decodeRejection(err error) error {
	code := wire.ReasonNotAudio
	for _, c := range decodeCodes {
		if errors.Is(err, c.kind) {
			code = c.code
			break
		}
	}
	return &stages.Rejection{Code: code, Err: err}
}
