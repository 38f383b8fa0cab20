package wire

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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

// SummaryID is the Nats-Msg-Id of a call summary.
func SummaryID(callID string) string {
	s := sha256.Sum256([]byte("summary\x00" + callID))
	return "s-" + hex.EncodeToString(s[:12])
}
