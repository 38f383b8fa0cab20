package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/wire"
)

// busyASR is fakeASR taking d per utterance, as whisper.cpp does on a busy CPU.
type busyASR struct {
	fakeASR
	d time.Duration
}

func (s *busyASR) Transcribe(ctx context.Context, pcm []float32) (asr.Result, error) {
	select {
	case <-time.After(s.d):
	case <-ctx.Done():
		return asr.Result{}, ctx.Err()
	}
	return s.fakeASR.Transcribe(ctx, pcm)
}

// A call whose next chunks are on the server but not delivered (the server slow or
// reconnecting, its consumer paused: here paused for longer than idle_flush) did not go quiet:
// it gives one utterance and no timing cut. make test failed in CI with the busy-daemon test
// below cut twice after the consumer missed its heartbeats on a loaded machine.
func TestIdleFlushWaitsForChunksTheServerHasNotDelivered(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil) // idle_flush 2 s
	live := chunks("live", tone(8, [2]float64{0.5, 7.5}), 20)
	r.sendChunks(live[:75]) // 1.5 s: the utterance has begun
	names := bus.NamesOf(r.cfg.NATS)
	cons, err := r.js.Consumer(t.Context(), names.AudioStream, bus.ConsumerName(r.cfg.NATS, bus.PartitionOf("live")))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info, err := cons.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if info.NumPending == 0 && info.Delivered.Consumer >= 75 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first 75 chunks were not delivered within 30 s (%d pending)", info.NumPending)
		}
	}
	pause := 3 * r.cfg.Pipeline.IdleFlush
	if _, err := r.js.PauseConsumer(t.Context(), names.AudioStream, cons.CachedInfo().Name, time.Now().Add(pause)); err != nil {
		t.Fatal(err)
	}
	r.sendChunks(live[75:])
	if ms := collect(t, r.js, r.cfg.NATS.ResultStream, wire.SummarySubject("sentio.results", "live"), 1, pause+30*time.Second); len(ms) != 1 {
		t.Fatalf("no summary within %v", pause+30*time.Second)
	}
	sum := summaryOf(t, r, "live")
	rec, _, err := bus.New(r.js, r.cfg.NATS, logger(t)).LookupCall(t.Context(), "live")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Utterances != 1 || len(rec.Flushes) != 0 {
		t.Errorf("the call gave %d utterances, with timing cuts recorded after chunks %v; want one utterance and no cut", sum.Utterances, rec.Flushes)
	}
	r.settled(30 * time.Second)
}

// README: an idle cut is made when a call has had "no audio for pipeline.idle_flush" (config:
// "Flushes a stream-mode call that has received no audio for this long"). A call whose audio has
// all arrived is not idle while the daemon is behind: here its chunks wait behind another call's
// in their partition, whose utterances wait for a slow ASR, for longer than idle_flush. Its one
// long utterance must still be one result, and no timing cut may be recorded for it.
func TestBusyDaemonDoesNotIdleCutALiveCall(t *testing.T) {
	cfg := testConfig() // idle_flush 2 s, one ASR worker, queues of 4
	cfg.NATS.AckWait = 30 * time.Second
	r := newRigWith(t, cfg, &busyASR{d: 500 * time.Millisecond}, nil)
	// The load shares the live call's partition, so that its chunks come first.
	load := ""
	for i := 0; load == ""; i++ {
		if id := fmt.Sprintf("load-%d", i); bus.PartitionOf(id) == bus.PartitionOf("live") {
			load = id
		}
	}
	live := chunks("live", tone(8, [2]float64{0.5, 7.5}), 20) // one utterance of 7 s
	// Sixteen utterances in 1 s chunks, more than the queues after the segment stage hold: the
	// segment worker waits for the ASR (half a second per utterance) to take each of the last
	// ones, several seconds in all, and the live call's chunks wait behind them.
	var ranges [][2]float64
	for i := range 16 {
		ranges = append(ranges, [2]float64{0.5 + 1.2*float64(i), 0.8 + 1.2*float64(i)})
	}
	backlog := chunks(load, tone(20, ranges...), 1000)
	// The publisher never pauses: the live call's audio is on the server well within
	// idle_flush of its previous chunk (the backlog's 20 chunks take milliseconds to publish).
	r.sendChunks(live[:75]) // 1.5 s: the utterance has begun
	published := time.Now()
	r.sendChunks(backlog)
	r.sendChunks(live[75:])
	if d := time.Since(published); d > cfg.Pipeline.IdleFlush/2 {
		t.Fatalf("publishing took %v; the live call was not live", d)
	}
	summaryOf(t, r, "live")
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.live", 0, 200*time.Millisecond))
	var spans []string
	for _, x := range res {
		spans = append(spans, fmt.Sprintf("%d–%d ms", x.StartMS, x.EndMS))
	}
	rec, _, err := bus.New(r.js, r.cfg.NATS, logger(t)).LookupCall(t.Context(), "live")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || len(rec.Flushes) != 0 {
		t.Errorf("the live call gave utterances %v, with timing cuts recorded after chunks %v; want one utterance (about 500–7500 ms) and no cut",
			spans, rec.Flushes)
	}
	summaryOf(t, r, load)
	r.settled(30 * time.Second)
	if dlq, desc := r.dlqEntries(); len(dlq) != 0 {
		t.Fatalf("DLQ holds %d entries:%s", len(dlq), desc)
	}
}
