package pipeline

import (
	"time"

	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// reorder holds the chunks of one stream that arrived before their turn, each with a hold on
// its input, until the chunks before them come (or are declared lost).
type reorder struct {
	chunks map[uint64]heldChunk
}

// heldChunk is a chunk waiting for its turn.
type heldChunk struct {
	chunk wire.Chunk
	msg   *Message
	hold  *stages.Hold
	since time.Time // when it arrived
}

func newReorder() *reorder { return &reorder{chunks: map[uint64]heldChunk{}} }

// put keeps chunk c (its input is deps) until its turn. It returns false, keeping nothing, when a
// chunk with that sequence number is held already (a duplicate delivery).
func (r *reorder) put(c wire.Chunk, msg *Message, deps []*stages.Txn, now time.Time) bool {
	if _, dup := r.chunks[c.Seq]; dup {
		return false
	}
	r.chunks[c.Seq] = heldChunk{chunk: c, msg: msg, hold: stages.Keep(deps), since: now}
	return true
}

// take removes and returns the chunk with sequence number seq, if held; the caller releases its
// hold.
func (r *reorder) take(seq uint64) (heldChunk, bool) {
	h, ok := r.chunks[seq]
	if ok {
		delete(r.chunks, seq)
	}
	return h, ok
}

// len is the number of chunks held.
func (r *reorder) len() int { return len(r.chunks) }

// lowest is the lowest sequence number held; ok is false when none is.
func (r *reorder) lowest() (seq uint64, ok bool) {
	for q := range r.chunks {
		if !ok || q < seq {
			seq, ok = q, true
		}
	}
	return seq, ok
}

// missingFor is how long the chunk before the held ones has been missing: since the earliest of
// them arrived (0 when none is held).
func (r *reorder) missingFor(now time.Time) time.Duration {
	var oldest time.Time
	for _, h := range r.chunks {
		if oldest.IsZero() || h.since.Before(oldest) {
			oldest = h.since
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return now.Sub(oldest)
}

// releaseAll releases every chunk held, each with the error why gives for its sequence number,
// and empties the buffer.
func (r *reorder) releaseAll(why func(seq uint64) error) {
	for q, h := range r.chunks {
		h.hold.Release(why(q))
		delete(r.chunks, q)
	}
}
