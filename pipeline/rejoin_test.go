package pipeline

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/internal/testenv"
)

// A second instance joins while calls are mid-utterance on the first: the partitions it takes over
// move with their calls, and every utterance still comes out whole and once, from one instance.
func TestJoiningInstanceTakesCallsOverWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("two instances")
	}
	srv := testenv.RunJetStream(t)
	cfg := testConfig()
	// As in production, the hand-over (a heartbeat or two) comes long before a call's idle flush.
	cfg.Pipeline.IdleFlush = 10 * time.Second
	a, regA := startComponent(t, srv.ClientURL(), cfg, testParts(t, &slowASR{}), nil)
	within(t, 20*time.Second, "the first instance to own the 8 partitions", func() bool { return len(a.consumer.Owned()) == 8 })
	nc, js := connect(t, srv.ClientURL())
	r := &rig{t: t, nc: nc, js: js, cfg: cfg}
	const calls = 12
	streams := make([][]chunkMsg, calls)
	for i := range streams {
		streams[i] = chunks(fmt.Sprintf("join-%d", i), threeBursts, 200)
	}
	// Up to the middle of the second burst (3.1-4.0 s): every call holds half an utterance on A.
	const cut = 18
	for k := 0; k < cut; k++ {
		for i := range streams {
			r.sendChunks(streams[i][k : k+1])
		}
	}
	collect(t, js, cfg.NATS.ResultStream, "sentio.results.*", calls, 20*time.Second) // the first bursts
	cfgB := *cfg
	b, regB := startComponent(t, srv.ClientURL(), &cfgB, testParts(t, &slowASR{}), nil)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && (len(b.consumer.Owned()) == 0 || len(a.consumer.Owned())+len(b.consumer.Owned()) != 8); {
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("partitions after the join: A %v, B %v", a.consumer.Owned(), b.consumer.Owned())
	if len(b.consumer.Owned()) == 0 {
		t.Fatal("the joining instance took no partition")
	}
	for k := cut; k < len(streams[0]); k++ {
		for i := range streams {
			r.sendChunks(streams[i][k : k+1])
		}
	}
	want := calls * 3
	collect(t, js, cfg.NATS.ResultStream, "sentio.results.*", want, 90*time.Second)
	// Every input acked: nothing more is published after this.
	r.settled(60 * time.Second)
	res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results.*", want, 5*time.Second))
	per := resultsPerCall(t, res)
	bursts := [][2]int64{{500, 1700}, {3100, 4000}, {5500, 6900}}
	byCall := map[string][][2]int64{}
	for _, x := range res {
		byCall[x.CallID] = append(byCall[x.CallID], [2]int64{x.StartMS, x.EndMS})
	}
	for i := 0; i < calls; i++ {
		id := fmt.Sprintf("join-%d", i)
		spans := byCall[id]
		sort.Slice(spans, func(a, b int) bool { return spans[a][0] < spans[b][0] })
		if per[id] != 3 {
			t.Errorf("call %s (partition %d) has %d results %v; want 3, one per burst", id, bus.PartitionOf(id), per[id], spans)
			continue
		}
		for j, sp := range spans {
			// Whole: the utterance covers its burst (VAD padding aside).
			if sp[0] > bursts[j][0]+100 || sp[1] < bursts[j][1]-100 {
				t.Errorf("call %s: utterance %d spans %d-%d ms; the burst is %d-%d ms", id, j+1, sp[0], sp[1], bursts[j][0], bursts[j][1])
			}
		}
	}
	if pa, pb := published(t, regA), published(t, regB); pb == 0 {
		t.Errorf("B published nothing (A %v)", pa)
	}
	if dlq := collect(t, js, cfg.NATS.DLQStream, "sentio.dlq.>", 0, 200*time.Millisecond); len(dlq) != 0 {
		for _, m := range dlq {
			t.Errorf("unexpected DLQ entry: %v", m.Headers())
		}
	}
}
