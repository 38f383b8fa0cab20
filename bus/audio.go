package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// audioStream caches the handle of the audio stream (see NextStored).
type audioStream struct {
	mu sync.Mutex
	s  jetstream.Stream
}

// StoredChunk is a message the audio stream holds: its stream sequence and storage time.
type StoredChunk struct {
	Seq    uint64
	Stored time.Time
}

// NextStored returns the first message of callID that the audio stream stored after stream
// sequence after; ok is false when it holds none. It tells a call that went quiet from one whose
// audio is on the server but not yet delivered (a consumer paused, a slow server).
func (b *Bus) NextStored(ctx context.Context, callID string, after uint64) (c StoredChunk, ok bool, err error) {
	b.audio.mu.Lock()
	s := b.audio.s
	if s == nil {
		if s, err = b.JS.Stream(ctx, b.Names.AudioStream); err != nil {
			b.audio.mu.Unlock()
			return StoredChunk{}, false, fmt.Errorf("looking up the audio stream %s: %w", b.Names.AudioStream, err)
		}
		b.audio.s = s
	}
	b.audio.mu.Unlock()
	subject := fmt.Sprintf("%s.%d.%s", b.Names.AudioSubject, PartitionOf(callID), callID)
	m, err := s.GetMsg(ctx, after+1, jetstream.WithGetMsgSubject(subject))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return StoredChunk{}, false, nil
	}
	if err != nil {
		return StoredChunk{}, false, fmt.Errorf("reading the audio of call %s after sequence %d: %w", callID, after, err)
	}
	return StoredChunk{Seq: m.Sequence, Stored: m.Time}, true, nil
}
