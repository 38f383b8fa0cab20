package wire

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
)

// UtteranceID is the deterministic id of an utterance: a hash of the call id, the channel and the
// utterance's first sample (at 16 kHz from the start of the call). The same audio replayed after a
// crash gets the same id, which results carry as Nats-Msg-Id so JetStream drops the duplicate.
func UtteranceID(callID string, channel int, startSample int64) string {
	h := sha256.New()
	h.Write([]byte(callID))
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(channel))
	binary.BigEndian.PutUint64(b[8:], uint64(startSample))
	h.Write([]byte{0})
	h.Write(b[:])
	return "u-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// ClipUtteranceID is the deterministic id of an utterance of a clip: UtteranceID of the call id
// qualified by the clip's sequence number in the audio stream, so that every clip published
// under one call id gets its own results, and a redelivered clip the same ids.
func ClipUtteranceID(callID string, clipSeq uint64, channel int, startSample int64) string {
	return UtteranceID(callID+"\x00"+strconv.FormatUint(clipSeq, 10), channel, startSample)
}

// SummaryID is the Nats-Msg-Id of a call summary; clipSeq is the audio-stream sequence of the
// clip that ended the call (0 for a stream).
func SummaryID(callID string, clipSeq uint64) string {
	key := "summary\x00" + callID
	if clipSeq != 0 {
		key += "\x00" + strconv.FormatUint(clipSeq, 10)
	}
	s := sha256.Sum256([]byte(key))
	return "s-" + hex.EncodeToString(s[:12])
}
