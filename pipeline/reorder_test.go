package pipeline

import (
	"errors"
	"testing"
	"time"

	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// countingInput is a stages.Input that counts how it settled.
type countingInput struct{ acks, naks, rejects int }

func (c *countingInput) Ack() error                              { c.acks++; return nil }
func (c *countingInput) Nak(time.Duration) error                 { c.naks++; return nil }
func (c *countingInput) InProgress() error                       { return nil }
func (c *countingInput) Delivered() uint64                       { return 1 }
func (c *countingInput) Reject(code, reason, stage string) error { c.rejects++; return nil }

func TestReorderHoldsChunksUntilTaken(t *testing.T) {
	tr := stages.NewTracker(stages.Policy{MaxDeliver: 3}, nil, nil)
	r := newReorder()
	t0 := time.Unix(1000, 0)
	ins := map[uint64]*countingInput{}
	txns := map[uint64]*stages.Txn{}
	for _, q := range []uint64{7, 5, 9} {
		ins[q] = &countingInput{}
		txns[q] = tr.Begin(ins[q])
		if !r.put(wire.Chunk{Seq: q}, &Message{}, []*stages.Txn{txns[q]}, t0.Add(time.Duration(q)*time.Second)) {
			t.Fatalf("chunk %d refused", q)
		}
		stages.Release([]*stages.Txn{txns[q]}, nil) // the item's own reference, as the runner drops it
	}
	if r.put(wire.Chunk{Seq: 5}, &Message{}, nil, t0) {
		t.Fatal("a second chunk 5 was kept")
	}
	if low, ok := r.lowest(); !ok || low != 5 || r.len() != 3 {
		t.Fatalf("lowest %d (%v), len %d; want 5, 3", low, ok, r.len())
	}
	if d := r.missingFor(t0.Add(20 * time.Second)); d != 15*time.Second {
		t.Fatalf("missing for %v; want 15s (since chunk 5 arrived, the earliest)", d)
	}
	for q, tx := range txns {
		select {
		case <-tx.Done():
			t.Fatalf("chunk %d settled while held", q)
		default:
		}
	}
	h, ok := r.take(5)
	if !ok || h.chunk.Seq != 5 {
		t.Fatalf("take(5) = %v, %v", h.chunk.Seq, ok)
	}
	h.hold.Release(nil)
	<-txns[5].Done()
	if _, ok := r.take(5); ok {
		t.Fatal("chunk 5 taken twice")
	}
	late := errors.New("late")
	r.releaseAll(func(q uint64) error {
		if q == 9 {
			return stages.Reject(wire.ReasonLateChunk, "%v", late)
		}
		return stages.ErrAbandoned
	})
	<-txns[7].Done()
	<-txns[9].Done()
	if r.len() != 0 || ins[5].acks != 1 || ins[7].naks != 1 || ins[9].rejects != 1 {
		t.Fatalf("after releaseAll: len %d, 5 acked %d, 7 naked %d, 9 rejected %d", r.len(), ins[5].acks, ins[7].naks, ins[9].rejects)
	}
}
