package pipeline

import (
	"fmt"
	"github.com/sentio-health/sentio/bus"
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/sentio-health/sentio/segment"
	"github.com/sentio-health/sentio/wire"
)

// longSpeech has an utterance of 7 s of continuous speech: at 10 ms per chunk it holds 700 chunks
// unacked until it is cut.
var longSpeech = tone(12, [2]float64{0.4, 1.5}, [2]float64{2.5, 9.5}, [2]float64{10.3, 11.4})

// shuffleWithin swaps chunks at most window-1 places apart (never the End chunk).
func shuffleWithin(cs []chunkMsg, window int, seed int64) []chunkMsg {
	out := append([]chunkMsg(nil), cs...)
	r := rand.New(rand.NewSource(seed))
	for i := 0; i+window < len(out)-1; i += window {
		r.Shuffle(window, func(a, b int) { out[i+a], out[i+b] = out[i+b], out[i+a] })
	}
	return out
}

// The same speech in 10, 20, 40, 200 and 1000 ms chunks, in order or shuffled within the reorder
// window, gives the utterances clip mode gives (within one chunk or one VAD frame) and leaves
// nothing in flight.
func TestStreamAnyChunkLengthGivesTheClipsUtterances(t *testing.T) {
	cfg := testConfig()
	// Held chunks get InProgress every third of the ack wait; 2 s is too short on a loaded
	// machine under -race, and a redelivery replays the call (another test's business).
	cfg.NATS.AckWait = 10 * time.Second
	r := newRigWith(t, cfg, &fakeASR{}, nil)
	cuts, err := segment.Clip(longSpeech, segment.Energy{}, segment.Options{MaxUtterance: r.cfg.Pipeline.MaxUtterance})
	if err != nil {
		t.Fatal(err)
	}
	type span struct{ start, end int64 }
	var want []span
	for _, c := range cuts {
		want = append(want, span{c.Start * 1000 / segment.SampleRate, c.End * 1000 / segment.SampleRate})
	}
	type run struct {
		ms       int
		shuffled bool
	}
	runs := []run{{10, false}, {20, false}, {20, true}, {40, false}, {200, false}, {200, true}, {1000, false}}
	for _, x := range runs {
		id := fmt.Sprintf("len-%d-%v", x.ms, x.shuffled)
		cs := chunks(id, longSpeech, x.ms)
		if x.shuffled {
			cs = shuffleWithin(cs, ReorderWindow, int64(x.ms))
		}
		r.sendChunks(cs)
	}
	for _, x := range runs {
		id := fmt.Sprintf("len-%d-%v", x.ms, x.shuffled)
		res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, wire.Subject("sentio.results", id), len(want), 60*time.Second))
		var got []span
		for _, x := range res {
			got = append(got, span{x.StartMS, x.EndMS})
		}
		sort.Slice(got, func(i, j int) bool { return got[i].start < got[j].start })
		tol := int64(max(x.ms, 30))
		ok := len(got) == len(want)
		for i := 0; ok && i < len(want); i++ {
			ok = abs64(got[i].start-want[i].start) <= tol && abs64(got[i].end-want[i].end) <= tol
		}
		if !ok {
			t.Errorf("%s: utterances %v ms; clip mode gives %v", id, got, want)
		}
		summaryOf(t, r, id)
	}
	r.settled(20 * time.Second)
	if dlq, desc := r.dlqEntries(); len(dlq) != 0 {
		t.Fatalf("DLQ holds %d entries for clean streams:%s", len(dlq), desc)
	}
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// samePartition returns a call id other than id in the same partition.
func samePartition(id string) string {
	for i := 0; ; i++ {
		other := fmt.Sprintf("%s-neighbour-%d", id, i)
		if bus.PartitionOf(other) == bus.PartitionOf(id) {
			return other
		}
	}
}

// A publisher that sends hundreds of chunks of a call without its first one (held for the
// takeover wait) or a call that never pauses holds at most pipeline.max_call_chunks: the other
// calls of its partition go on long before the takeover wait (32 s here) ends.
func TestOneCallCannotStallItsPartition(t *testing.T) {
	cfg := testConfig()
	cfg.NATS.AckWait = 30 * time.Second
	cfg.Pipeline.MaxCallChunks = 64
	cfg.NATS.MaxAckPending = 128
	cfg.StateDir = t.TempDir()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	r := newRigWith(t, cfg, &fakeASR{}, nil)
	hog := chunks("hog", tone(8, [2]float64{0, 8}), 20)
	r.sendChunks(hog[1:300]) // chunk 0 never comes: held as a takeover
	victim := samePartition("hog")
	r.sendChunks(chunks(victim, threeBursts, 100))
	start := time.Now()
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, wire.Subject("sentio.results", victim), 3, 20*time.Second))
	if len(res) != 3 {
		t.Fatalf("the hog's partition neighbour got %d results in %s; want 3", len(res), time.Since(start))
	}
	summaryOf(t, r, victim)
}
