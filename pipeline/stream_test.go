package pipeline

import (
	"context"
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/zaf/g711"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/segment"
	"github.com/sentio-health/sentio/wire"
)

// chunks cuts 16 kHz audio into stream-mode chunks of ms milliseconds; the last one ends the stream.
func chunks(callID string, pcm []float32, ms int) []chunkMsg {
	n := segment.SampleRate * ms / 1000
	var out []chunkMsg
	for i := 0; i*n < len(pcm); i++ {
		end := min((i+1)*n, len(pcm))
		c := wire.Chunk{CallID: callID, Seq: uint64(i), Codec: wire.CodecS16LE, Rate: 16000, Channels: 1,
			Roles: []string{"customer"}, End: end == len(pcm), Offset: int64(i * n)}
		out = append(out, chunkMsg{c, s16(pcm[i*n : end])})
	}
	return out
}

type chunkMsg struct {
	c    wire.Chunk
	data []byte
}

func (r *rig) sendChunks(cs []chunkMsg) {
	for _, c := range cs {
		r.publish(wire.Subject(r.cfg.NATS.AudioSubject, c.c.CallID), c.c.Header(), c.data)
	}
}

var threeBursts = tone(8, [2]float64{0.5, 1.7}, [2]float64{3.1, 4.0}, [2]float64{5.5, 6.9})

func starts(res []wire.Result) []int64 {
	var s []int64
	for _, r := range res {
		s = append(s, r.StartMS)
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

func summaryOf(t *testing.T, r *rig, callID string) wire.Summary {
	t.Helper()
	// A summary of a call taken over with chunks missing waits up to two take-over holds.
	ms := collect(t, r.js, r.cfg.NATS.ResultStream, wire.SummarySubject("sentio.results", callID), 1, 30*time.Second)
	if len(ms) != 1 {
		t.Fatalf("%d summaries for %s; want 1", len(ms), callID)
	}
	if err := wire.Validate(ms[0].Data()); err != nil {
		t.Fatalf("summary fails the schema: %v", err)
	}
	var s wire.Summary
	if err := json.Unmarshal(ms[0].Data(), &s); err != nil {
		t.Fatalf("summary: %v", err)
	}
	return s
}

func TestStreamGivesUtterancesAndSummary(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	r.sendChunks(chunks("live-1", threeBursts, 200))
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.live-1", 3, 10*time.Second))
	if len(res) != 3 {
		t.Fatalf("got %d results; want 3", len(res))
	}
	st := starts(res)
	if st[0] > 500 || st[1] < 2800 || st[1] > 3100 || st[2] < 5200 || st[2] > 5500 {
		t.Fatalf("utterances start at %v ms", st)
	}
	for _, x := range res {
		if x.Mode != wire.ModeStream || x.Role != "customer" || x.Label == "" {
			t.Fatalf("result %+v", x)
		}
	}
	s := summaryOf(t, r, "live-1")
	if s.Utterances != 3 || s.Counts["positive"] != 3 || s.MeanScores["customer"]["positive"] < 0.79 || len(s.Timeline) != 3 {
		t.Fatalf("summary %+v", s)
	}
	r.settled(5 * time.Second)
	if dlq, desc := r.dlqEntries(); len(dlq) != 0 {
		t.Fatalf("DLQ holds %d entries for a clean stream:%s", len(dlq), desc)
	}
}

func TestStreamReorderedWithinTheWindowIsRepaired(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	cs := chunks("reorder", threeBursts, 200)
	cs[5], cs[7] = cs[7], cs[5]
	cs[20], cs[21] = cs[21], cs[20]
	r.sendChunks(cs)
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.reorder", 3, 10*time.Second))
	summaryOf(t, r, "reorder")
	r.settled(5 * time.Second)
	if len(res) != 3 {
		t.Fatalf("got %d results; want 3", len(res))
	}
	if dlq, desc := r.dlqEntries(); len(dlq) != 0 {
		t.Fatalf("DLQ holds %d entries for a repairable reordering:%s", len(dlq), desc)
	}
}

// A call first seen mid-stream (as after a failover) is held until the chunks the previous
// instance had not acked come back: it starts at the lowest one, and the chunks missing below the
// first one seen (acked silence) are no gap.
func TestStreamTakenOverMidStreamStartsAtTheEarliestRedeliveredChunk(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	cs := chunks("takeover", threeBursts, 200)
	// The previous instance applied chunk 0: it claimed the call id with chunk 0's sequence
	// number in the audio stream. Here chunk 0 is published after the chunks from 14 on.
	stream, err := r.js.Stream(t.Context(), r.cfg.NATS.AudioStream)
	if err != nil {
		t.Fatal(err)
	}
	chunk0 := stream.CachedInfo().State.LastSeq + uint64(len(cs[14:])) + 1
	if _, err := bus.New(r.js, r.cfg.NATS, nil).ClaimCall(t.Context(), "takeover", chunk0); err != nil {
		t.Fatal(err)
	}
	r.sendChunks(cs[14:]) // from the onset of the second burst
	// The instance has them all (held, unacked) before the first burst comes back.
	within(t, 10*time.Second, "the chunks from the second burst on to be delivered", func() bool {
		tt := r.totals()
		return tt.pending == 0 && tt.ackPending == len(cs)-14
	})
	r.sendChunks(cs[:9]) // the first burst comes back late; chunks 9..13 (silence) never do
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.takeover", 3, TakeOverWait(r.cfg)+10*time.Second))
	if len(res) != 3 {
		t.Fatalf("got %d results; want 3", len(res))
	}
	if st := starts(res); st[0] > 500 || st[1] < 2800 || st[1] > 3100 || st[2] < 5200 || st[2] > 5500 {
		t.Fatalf("utterances start at %v ms", st)
	}
	if s := summaryOf(t, r, "takeover"); s.Utterances != 3 {
		t.Fatalf("summary counts %d utterances; want 3", s.Utterances)
	}
	r.settled(5 * time.Second)
	if dlq, desc := r.dlqEntries(); len(dlq) != 0 {
		t.Fatalf("DLQ holds %d entries for a taken-over call:%s", len(dlq), desc)
	}
}

func TestStreamGapGivesOneDLQEntry(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	cs := chunks("gappy", threeBursts, 200)
	lost := cs[10] // inside the silence between the first and second burst
	cs = append(cs[:10], cs[11:]...)
	r.sendChunks(cs)
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.gappy", 3, GapWait(r.cfg)+20*time.Second))
	summaryOf(t, r, "gappy")
	r.settled(5 * time.Second)
	if len(res) != 3 {
		t.Fatalf("got %d results around the gap; want 3", len(res))
	}
	dlq := collect(t, r.js, r.cfg.NATS.DLQStream, "sentio.dlq.>", 1, 5*time.Second)
	if len(dlq) != 1 {
		t.Fatalf("%d DLQ entries; want 1", len(dlq))
	}
	h := dlq[0].Headers()
	if h.Get(wire.HeaderReasonCode) != wire.ReasonSequenceGap || h.Get(wire.HeaderMissing) != "10-10" || h.Get(wire.HeaderCallID) != "gappy" {
		t.Fatalf("gap entry headers %v", h)
	}
	// The lost chunk turns up far too late: one late_chunk entry for it.
	r.sendChunks([]chunkMsg{lost})
	dlq = collect(t, r.js, r.cfg.NATS.DLQStream, "sentio.dlq.>", 2, 5*time.Second)
	if len(dlq) != 2 || dlq[1].Headers().Get(wire.HeaderReasonCode) != wire.ReasonLateChunk {
		t.Fatalf("late chunk: %d DLQ entries, last %v", len(dlq), dlq[len(dlq)-1].Headers())
	}
}

// A sequence gap found while the DLQ cannot be written is not lost: the call waits (its chunks
// stay pending) and reports the gap once the DLQ is back, then goes on. Before, the entry was
// dropped with an error line and the call went on without it.
func TestStreamGapWaitsForTheDLQ(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := r.js.DeleteStream(ctx, r.cfg.NATS.DLQStream); err != nil {
		t.Fatal(err)
	}
	cs := chunks("gappy", threeBursts, 200)
	cs = append(cs[:10], cs[11:]...)
	r.sendChunks(cs)
	for deadline := time.Now().Add(GapWait(r.cfg) + 60*time.Second); sumMetric(t, r.reg, "sentio_dlq_publish_failures_total") < 1; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the gap was not reported (no failed DLQ write) within the gap wait")
		}
	}
	if _, err := bus.Setup(ctx, r.js, r.cfg.NATS); err != nil { // the DLQ is back
		t.Fatal(err)
	}
	dlq := collect(t, r.js, r.cfg.NATS.DLQStream, "sentio.dlq.>", 1, 60*time.Second)
	if len(dlq) != 1 || dlq[0].Headers().Get(wire.HeaderReasonCode) != wire.ReasonSequenceGap || dlq[0].Headers().Get(wire.HeaderMissing) != "10-10" {
		t.Fatalf("%d DLQ entries once the DLQ is back; want one sequence_gap for chunks 10-10", len(dlq))
	}
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.gappy", 3, 30*time.Second))
	if len(res) != 3 {
		t.Fatalf("got %d results around the gap; want 3", len(res))
	}
	summaryOf(t, r, "gappy")
	r.settled(15 * time.Second)
}

// Two interleaved channels with their roles: each channel is segmented on its own.
func TestStreamTwoChannelsWithRoles(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	agent := tone(6, [2]float64{0.5, 1.5})
	customer := tone(6, [2]float64{3.0, 4.2})
	n := segment.SampleRate / 5
	var cs []chunkMsg
	for i := 0; i*n < len(agent); i++ {
		end := min((i+1)*n, len(agent))
		inter := make([]float32, 0, 2*(end-i*n))
		for j := i * n; j < end; j++ {
			inter = append(inter, agent[j], customer[j])
		}
		c := wire.Chunk{CallID: "stereo", Seq: uint64(i), Codec: wire.CodecS16LE, Rate: 16000, Channels: 2,
			Roles: []string{"agent", "customer"}, End: end == len(agent), Offset: int64(i * n)}
		cs = append(cs, chunkMsg{c, s16(inter)})
	}
	r.sendChunks(cs)
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.stereo", 2, 10*time.Second))
	if len(res) != 2 {
		t.Fatalf("%d results; want one per channel", len(res))
	}
	for _, x := range res {
		switch {
		case x.Channel == 0 && x.Role == "agent" && x.StartMS < 600:
		case x.Channel == 1 && x.Role == "customer" && x.StartMS > 2500 && x.StartMS < 3100:
		default:
			t.Fatalf("result on the wrong channel or time: %+v", x)
		}
	}
	s := summaryOf(t, r, "stereo")
	if len(s.MeanScores) != 2 {
		t.Fatalf("summary mean scores per role: %v", s.MeanScores)
	}
	r.settled(5 * time.Second)
}

// A stream that goes quiet without its end marker is flushed after the idle timeout: its last
// utterance is published and every chunk acked.
func TestStreamIdleFlush(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	cs := chunks("quiet", tone(3, [2]float64{0.5, 2.9}), 200)
	cs[len(cs)-1].c.End = false
	r.sendChunks(cs[:len(cs)-1])
	last := time.Now() // the last chunk reaches the daemon after this
	r.sendChunks(cs[len(cs)-1:])
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.quiet", 1, 10*time.Second))
	if len(res) != 1 {
		t.Fatalf("%d results after the idle flush; want 1", len(res))
	}
	if took := time.Since(last); took < r.cfg.Pipeline.IdleFlush {
		t.Fatalf("speech still going at the last chunk was cut %v after it, before the idle timeout (%v)", took, r.cfg.Pipeline.IdleFlush)
	}
	r.settled(5 * time.Second)
}

// A call-center feed: G.711 µ-law at 8 kHz in 160 ms chunks, resampled chunk by chunk.
func TestStreamMulaw8k(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	pcm8 := make([]float32, 0, len(threeBursts)/2)
	for i := 0; i < len(threeBursts); i += 2 {
		pcm8 = append(pcm8, threeBursts[i])
	}
	n := 8000 * 160 / 1000
	var cs []chunkMsg
	for i := 0; i*n < len(pcm8); i++ {
		end := min((i+1)*n, len(pcm8))
		c := wire.Chunk{CallID: "mulaw", Seq: uint64(i), Codec: wire.CodecULaw, Rate: 8000, Channels: 1,
			Roles: []string{"customer"}, End: end == len(pcm8), Offset: int64(i * n)}
		cs = append(cs, chunkMsg{c, g711.EncodeUlaw(s16(pcm8[i*n : end]))})
	}
	r.sendChunks(cs)
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.mulaw", 3, 10*time.Second))
	if st := starts(res); len(res) != 3 || st[1] < 2800 || st[1] > 3100 || st[2] < 5200 || st[2] > 5500 {
		t.Fatalf("%d results at %v ms; want 3 at about 0.4, 3.0 and 5.4 s", len(res), st)
	}
	r.settled(5 * time.Second)
}
