package pipeline

import (
	"testing"
	"time"

	"github.com/sentio-health/sentio/wire"
)

// A live feed whose first two 20 ms frames arrive swapped (chunk 1, then chunk 0: a reordering
// well within the window) is put back in order like any other: the call is not taken for one
// taken over mid-stream and held for TakeOverWait (the ack wait + 2 s: 32 s with the default
// ack wait), so its results and summary come as soon as those of the same call in order.
func TestStreamWithItsFirstTwoChunksSwappedIsNotHeld(t *testing.T) {
	cfg := testConfig()
	cfg.NATS.AckWait = 30 * time.Second // the default: TakeOverWait is 32 s
	r := newRigWith(t, cfg, &fakeASR{}, nil)
	cs := chunks("swapped-start", threeBursts, 20)
	cs[0], cs[1] = cs[1], cs[0]
	sent := time.Now()
	r.sendChunks(cs)
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, wire.Subject("sentio.results", "swapped-start"), 3, 10*time.Second))
	if len(res) != 3 {
		t.Fatalf("%d results within 10 s of sending the call (TakeOverWait %v); want 3", len(res), TakeOverWait(cfg))
	}
	ms := collect(t, r.js, r.cfg.NATS.ResultStream, wire.SummarySubject("sentio.results", "swapped-start"), 1, 10*time.Second)
	if len(ms) != 1 {
		t.Fatalf("no summary within %v of sending the call", time.Since(sent).Round(time.Second))
	}
	r.settled(10 * time.Second)
	if dlq, desc := r.dlqEntries(); len(dlq) != 0 {
		t.Fatalf("DLQ holds %d entries for a repairable reordering:%s", len(dlq), desc)
	}
}
