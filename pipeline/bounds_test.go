package pipeline

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/wire"
)

// The bounds that keep a stream call's memory in check (pipeline.max_calls, the 10 s chunk limit,
// the eviction of quiet and ended calls, the integer limits of Sentio-Seq and Sentio-Offset),
// checked through a real nats-server.

// stageFailures is sentio_pipeline_stage_failed_total for one stage: deliveries of an input that
// the stage failed (transiently: they are Naked and redelivered).
func stageFailures(t *testing.T, reg *prometheus.Registry, stage string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "sentio_pipeline_stage_failed_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "stage" && l.GetValue() == stage {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// README (pipeline.max_calls): "A chunk of a new call beyond it fails and is redelivered later
// ... size it above the calls an instance serves at once". With room for two calls, a third one
// that starts while two run is not lost: its chunks fail and come back until one of the two has
// ended (and its state is dropped, pipeline.idle_flush after its End), then it gets all its
// results and its summary, and nothing reaches the DLQ.
func TestCallBeyondMaxCallsWaitsForASlot(t *testing.T) {
	cfg := testConfig()
	cfg.Pipeline.SegmentWorkers = 1
	cfg.Pipeline.MaxCalls = 2
	// Naks wait 1 s, 2 s, 3 s ... (a tenth of the ack wait, times the failures): max_deliver 6
	// lets a refused chunk come back for 15 s, longer than a call's end + idle_flush (2 s) + a tick.
	cfg.NATS.AckWait = 10 * time.Second
	cfg.NATS.MaxDeliver = 6
	r := newRigWith(t, cfg, &fakeASR{}, nil)
	a, b, c := chunks("slot-a", threeBursts, 200), chunks("slot-b", threeBursts, 200), chunks("slot-c", threeBursts, 200)
	half := len(a) / 2 // 4 s: the first two bursts, no End
	r.sendChunks(a[:half])
	r.sendChunks(b[:half])
	// Both calls are in (each has its first utterance): the worker holds its two calls.
	r.callResults("slot-a", 1, 10*time.Second)
	r.callResults("slot-b", 1, 10*time.Second)

	r.sendChunks(c)
	within(t, 10*time.Second, "a chunk of the third call to be refused (pipeline.max_calls)", func() bool {
		return stageFailures(t, r.reg, StageSegment) >= 1
	})
	if res := collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.slot-c", 0, 100*time.Millisecond); len(res) != 0 {
		t.Fatalf("the third call got %d results while two calls held the worker's slots", len(res))
	}
	r.sendChunks(a[half:]) // call a ends: its slot is free idle_flush later
	if s := summaryOf(t, r, "slot-a"); s.Utterances != 3 {
		t.Errorf("slot-a: summary counts %d utterances; want 3", s.Utterances)
	}
	r.callResults("slot-c", 3, 40*time.Second)
	if s := summaryOf(t, r, "slot-c"); s.Utterances != 3 {
		t.Errorf("slot-c: summary counts %d utterances; want 3", s.Utterances)
	}
	r.sendChunks(b[half:])
	if s := summaryOf(t, r, "slot-b"); s.Utterances != 3 {
		t.Errorf("slot-b: summary counts %d utterances; want 3", s.Utterances)
	}
	t.Logf("segment stage failures (refused deliveries of the third call's chunks): %v", stageFailures(t, r.reg, StageSegment))
	r.settled(20 * time.Second)
	if dlq, desc := r.dlqEntries(); len(dlq) != 0 {
		t.Fatalf("DLQ holds %d entries; want none (a call beyond pipeline.max_calls waits):%s", len(dlq), desc)
	}
}

// A call that has ended gives its slot to a new call at once, instead of keeping it
// pipeline.idle_flush for its late chunks (the call registry rejects those): with room for one
// call, calls one after another are never refused, and a late chunk of the first is still
// late_chunk.
func TestEndedCallGivesUpItsSlot(t *testing.T) {
	cfg := testConfig()
	cfg.Pipeline.SegmentWorkers = 1
	cfg.Pipeline.MaxCalls = 1
	cfg.Pipeline.IdleFlush = time.Minute // the old way, the second call would wait a minute
	r := newRigWith(t, cfg, &fakeASR{}, nil)
	first := chunks("first", threeBursts, 200)
	r.sendChunks(first)
	if s := summaryOf(t, r, "first"); s.Utterances != 3 {
		t.Fatalf("first: summary counts %d utterances; want 3", s.Utterances)
	}
	r.sendChunks(chunks("second", threeBursts, 200))
	if s := summaryOf(t, r, "second"); s.Utterances != 3 {
		t.Fatalf("second: summary counts %d utterances; want 3", s.Utterances)
	}
	if n := stageFailures(t, r.reg, StageSegment); n != 0 {
		t.Errorf("%v chunks of the second call were refused (pipeline.max_calls) while the first had ended", n)
	}
	r.sendChunks(first[5:6]) // a late chunk of the first call
	late := collect(t, r.js, r.cfg.NATS.DLQStream, wire.Subject(r.cfg.NATS.DLQSubject, "first"), 1, 20*time.Second)
	if len(late) != 1 || late[0].Headers().Get(wire.HeaderReasonCode) != wire.ReasonLateChunk {
		t.Fatalf("%d DLQ entries for a late chunk of the ended call; want one late_chunk", len(late))
	}
	r.settled(10 * time.Second)
}

// README (pipeline.max_calls): a chunk of a new call beyond the bound "reaches the DLQ after
// nats.max_deliver such failures" when no slot frees meanwhile; its reason names the setting to
// size, and the call holding the slot goes on untouched.
func TestCallBeyondMaxCallsReachesTheDLQWhenNoSlotFrees(t *testing.T) {
	cfg := testConfig() // max_deliver 3, Naks of 200 and 400 ms: refused for good within a second
	cfg.Pipeline.SegmentWorkers = 1
	cfg.Pipeline.MaxCalls = 1
	r := newRigWith(t, cfg, &fakeASR{}, nil)
	held := chunks("holder", threeBursts, 200)
	half := len(held) / 2
	r.sendChunks(held[:half])
	r.callResults("holder", 1, 10*time.Second)
	refused := chunks("refused", tone(0.4, [2]float64{0.1, 0.3}), 200) // chunk 0 and the End
	r.sendChunks(refused)
	entries := collect(t, r.js, r.cfg.NATS.DLQStream, wire.Subject(r.cfg.NATS.DLQSubject, "refused"), len(refused), 20*time.Second)
	if len(entries) != len(refused) {
		t.Fatalf("%d DLQ entries for the refused call; want %d", len(entries), len(refused))
	}
	for _, m := range entries {
		h := m.Headers()
		if h.Get(wire.HeaderReasonCode) != wire.ReasonMaxDeliveries || !strings.Contains(h.Get(wire.HeaderReason), "pipeline.max_calls") ||
			h.Get(wire.HeaderDelivered) != strconv.Itoa(cfg.NATS.MaxDeliver) {
			t.Errorf("DLQ entry %s (delivered %s): %s; want %s after %d deliveries, naming pipeline.max_calls", h.Get(wire.HeaderReasonCode),
				h.Get(wire.HeaderDelivered), h.Get(wire.HeaderReason), wire.ReasonMaxDeliveries, cfg.NATS.MaxDeliver)
		}
	}
	r.sendChunks(held[half:])
	if s := summaryOf(t, r, "holder"); s.Utterances != 3 {
		t.Errorf("holder: summary counts %d utterances; want 3", s.Utterances)
	}
	r.settled(10 * time.Second)
	if res := collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.refused", 0, 100*time.Millisecond); len(res) != 0 {
		t.Errorf("%d results for the refused call", len(res))
	}
}

// README: "at most 10 s of audio per chunk: too_large". A stream chunk of 11 s in the pause
// between two bursts is rejected as too_large and the call goes on: the bursts around it are
// utterances, and the summary comes. A chunk of exactly 10 s is accepted.
func TestStreamChunkOverTenSecondsIsTooLarge(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	cs := chunks("long-chunk", threeBursts, 200)
	const big = 11 // 2.2–2.4 s: the pause between the first two bursts
	cs[big].data = s16(make([]float32, 11*16000))
	r.sendChunks(cs)
	ten := chunks("ten-s-chunk", tone(10, [2]float64{0.5, 1.7}, [2]float64{3.1, 4.0}), 10000)
	if len(ten) != 1 || !ten[0].c.End {
		t.Fatalf("want one 10 s End chunk; got %d chunks", len(ten))
	}
	r.sendChunks(ten)

	res := r.callResults("long-chunk", 3, 10*time.Second)
	if st := starts(res); st[0] > 500 || st[1] < 2800 || st[1] > 3100 || st[2] < 5200 || st[2] > 5500 {
		t.Errorf("utterances start at %v ms", st)
	}
	if s := summaryOf(t, r, "long-chunk"); s.Utterances != 3 {
		t.Errorf("long-chunk: summary counts %d utterances; want 3", s.Utterances)
	}
	entries := collect(t, r.js, r.cfg.NATS.DLQStream, wire.Subject(r.cfg.NATS.DLQSubject, "long-chunk"), 1, 10*time.Second)
	if len(entries) != 1 {
		t.Fatalf("%d DLQ entries for the 11 s chunk; want 1", len(entries))
	}
	h := entries[0].Headers()
	if h.Get(wire.HeaderReasonCode) != wire.ReasonTooLarge || h.Get(wire.HeaderSeq) != strconv.Itoa(big) || h.Get(wire.HeaderDelivered) != "1" {
		t.Errorf("DLQ entry %s for chunk %s (delivered %s): %s; want %s for chunk %d at its first delivery",
			h.Get(wire.HeaderReasonCode), h.Get(wire.HeaderSeq), h.Get(wire.HeaderDelivered), h.Get(wire.HeaderReason), wire.ReasonTooLarge, big)
	}
	r.callResults("ten-s-chunk", 2, 10*time.Second)
	if s := summaryOf(t, r, "ten-s-chunk"); s.Utterances != 2 {
		t.Errorf("ten-s-chunk: summary counts %d utterances; want 2", s.Utterances)
	}
	r.settled(10 * time.Second)
	if dlq, desc := r.dlqEntries(); len(dlq) != 1 {
		t.Fatalf("DLQ holds %d entries; want only the 11 s chunk's:%s", len(dlq), desc)
	}
}

// A call that goes quiet without its End is cut pipeline.idle_flush after its last chunk (its
// utterance in progress is a result), and its state is dropped later: with room for one call,
// a second call is refused while the quiet one's state is kept, and gets all its results once
// it is dropped. Nothing stays in flight, and nothing reaches the DLQ.
func TestQuietCallIsCutThenForgotten(t *testing.T) {
	cfg := testConfig()
	cfg.Pipeline.SegmentWorkers = 1
	cfg.Pipeline.MaxCalls = 1
	cfg.Pipeline.IdleFlush = time.Second
	// Refused chunks come back for 1+2+3+4+5 = 15 s (Naks a tenth of the ack wait, growing),
	// longer than a quiet call is kept.
	cfg.NATS.AckWait = 10 * time.Second
	cfg.NATS.MaxDeliver = 6
	r := newRigWith(t, cfg, &fakeASR{}, nil)
	quiet := chunks("quiet", threeBursts, 200)[:30] // up to 6.0 s: in the middle of the third burst
	r.sendChunks(quiet)
	sent := time.Now()
	res := r.callResults("quiet", 3, 20*time.Second)
	cut := time.Since(sent)
	if cut < cfg.Pipeline.IdleFlush-50*time.Millisecond {
		t.Errorf("the third utterance came %v after the last chunk; want it cut after pipeline.idle_flush (%v)", cut, cfg.Pipeline.IdleFlush)
	}
	last := res[0]
	for _, x := range res {
		if x.StartMS > last.StartMS {
			last = x
		}
	}
	if last.StartMS < 5200 || last.StartMS > 5500 || last.EndMS > 6000 {
		t.Errorf("the utterance cut by idle_flush spans %d–%d ms; want the third burst up to the last chunk (5500–6000 ms)", last.StartMS, last.EndMS)
	}

	failed := stageFailures(t, r.reg, StageSegment)
	r.sendChunks(chunks("after-quiet", threeBursts, 200))
	within(t, 10*time.Second, "a chunk of the second call to be refused while the quiet call is kept", func() bool {
		return stageFailures(t, r.reg, StageSegment) > failed
	})
	r.callResults("after-quiet", 3, 40*time.Second)
	t.Logf("the quiet call's slot was free about %v after its last chunk", time.Since(sent).Round(100*time.Millisecond))
	if s := summaryOf(t, r, "after-quiet"); s.Utterances != 3 {
		t.Errorf("after-quiet: summary counts %d utterances; want 3", s.Utterances)
	}
	r.settled(20 * time.Second)
	if dlq, desc := r.dlqEntries(); len(dlq) != 0 {
		t.Fatalf("DLQ holds %d entries; want none:%s", len(dlq), desc)
	}
}

// A chunk arriving for the first time after its call's End, while the ended call's state is
// kept (pipeline.idle_flush), is rejected as late_chunk at once (its first delivery), whether its
// number lies before the End or after it; the call's results and summary are not touched.
func TestChunkAfterTheEndIsLateAtOnce(t *testing.T) {
	cfg := testConfig()
	cfg.Pipeline.IdleFlush = 30 * time.Second // the ended call's state is kept for the whole test
	r := newRigWith(t, cfg, &fakeASR{}, nil)
	cs := chunks("ended-late", threeBursts, 200)
	r.sendChunks(cs)
	r.callResults("ended-late", 3, 10*time.Second)
	summaryOf(t, r, "ended-late")
	r.settled(10 * time.Second)

	past := cs[len(cs)-1]
	past.c.Seq, past.c.Offset, past.c.End = past.c.Seq+1, past.c.Offset+3200, false
	before := cs[5]
	sent := time.Now()
	r.sendChunks([]chunkMsg{past, before})
	entries := collect(t, r.js, r.cfg.NATS.DLQStream, wire.Subject(r.cfg.NATS.DLQSubject, "ended-late"), 2, 10*time.Second)
	took := time.Since(sent)
	if len(entries) != 2 {
		t.Fatalf("%d DLQ entries for 2 chunks after the End", len(entries))
	}
	for _, m := range entries {
		h := m.Headers()
		if h.Get(wire.HeaderReasonCode) != wire.ReasonLateChunk || h.Get(wire.HeaderDelivered) != "1" {
			t.Errorf("chunk %s: DLQ entry %s at delivery %s (%s); want %s at its first delivery", h.Get(wire.HeaderSeq),
				h.Get(wire.HeaderReasonCode), h.Get(wire.HeaderDelivered), h.Get(wire.HeaderReason), wire.ReasonLateChunk)
		}
	}
	// At once: well before anything waits out a gap or the ended call's keep time.
	if limit := GapWait(cfg) / 2; took > limit {
		t.Errorf("the late chunks were rejected after %v; want at once (under %v)", took, limit)
	}
	r.settled(10 * time.Second)
	if res := collect(t, r.js, r.cfg.NATS.ResultStream, wire.SummarySubject("sentio.results", "ended-late"), 0, 100*time.Millisecond); len(res) != 1 {
		t.Errorf("%d summaries after the late chunks; want the one", len(res))
	}
	if res := collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.ended-late", 0, 100*time.Millisecond); len(res) != 3 {
		t.Errorf("%d results after the late chunks; want the 3", len(res))
	}
}

// Sentio-Seq and Sentio-Offset at the largest values accepted (wire.MaxSeq, 31 days of samples)
// go through NATS to results whose start_ms and end_ms are where the offsets put them (no
// overflow, nothing negative, in the results or the summary); one past them, or at the integer
// limits, the chunk is bad_header.
func TestStreamPositionsAtTheIntegerLimits(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	maxOff := int64(wire.MaxCallLength/time.Second) * 16000
	cs := chunks("far", threeBursts, 200)
	n := len(cs)
	base := maxOff - int64(n-1)*3200 // the End chunk starts at the largest offset accepted
	for i := range cs {
		cs[i].c.Seq = wire.MaxSeq - uint64(n-1) + uint64(i)
		cs[i].c.Offset = base + int64(i)*3200
	}
	r.sendChunks(cs) // first seen at a seq above 0: held for TakeOverWait, then started

	bad := func(callID string, set func(h nats.Header)) {
		c := chunks(callID, tone(0.2), 200)[0]
		h := c.c.Header()
		set(h)
		r.publish(wire.Subject(r.cfg.NATS.AudioSubject, callID), h, c.data)
	}
	bad("offset-over", func(h nats.Header) { h.Set(wire.HeaderOffset, strconv.FormatInt(maxOff+1, 10)) })
	bad("offset-int64", func(h nats.Header) { h.Set(wire.HeaderOffset, "9223372036854775807") })
	bad("seq-over", func(h nats.Header) { h.Set(wire.HeaderSeq, strconv.Itoa(wire.MaxSeq+1)) })
	bad("seq-uint64", func(h nats.Header) { h.Set(wire.HeaderSeq, "18446744073709551615") })

	res := r.callResults("far", 3, TakeOverWait(r.cfg)+20*time.Second)
	baseMS := base * 1000 / 16000
	for _, x := range res {
		if x.StartMS < 0 || x.EndMS <= x.StartMS {
			t.Errorf("utterance %s spans %d–%d ms", x.UtteranceID, x.StartMS, x.EndMS)
		}
	}
	if st := starts(res); st[0]-baseMS > 500 || st[1]-baseMS < 2800 || st[1]-baseMS > 3100 || st[2]-baseMS < 5200 || st[2]-baseMS > 5500 {
		t.Errorf("utterances start at %v ms; want about %d + 500, 3100, 5500", st, baseMS)
	}
	ms := collect(t, r.js, r.cfg.NATS.ResultStream, wire.SummarySubject("sentio.results", "far"), 1, 30*time.Second)
	if len(ms) != 1 {
		t.Fatalf("%d summaries for the call at the limits", len(ms))
	}
	var s wire.Summary
	if err := json.Unmarshal(ms[0].Data(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Utterances != 3 || s.DurationMS < baseMS+6000 {
		t.Errorf("summary: %d utterances, duration %d ms; want 3, at least %d", s.Utterances, s.DurationMS, baseMS+6000)
	}
	var doc any
	if err := json.Unmarshal(ms[0].Data(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range negatives("", doc) {
		t.Errorf("summary field %s is negative", p)
	}

	for _, id := range []string{"offset-over", "offset-int64", "seq-over", "seq-uint64"} {
		if codes := r.dlqCodes(id, 1); len(codes) != 1 || codes[0] != wire.ReasonBadHeader {
			t.Errorf("%s: DLQ reason codes %v; want one %s", id, codes, wire.ReasonBadHeader)
		}
	}
	r.settled(10 * time.Second)
}

// negatives lists the paths of negative numbers in a decoded JSON document (dBFS levels aside,
// which are negative by nature).
func negatives(path string, v any) []string {
	var out []string
	switch x := v.(type) {
	case float64:
		if x < 0 && !strings.Contains(path, "dbfs") {
			out = append(out, fmt.Sprintf("%s = %v", path, x))
		}
	case map[string]any:
		for k, e := range x {
			out = append(out, negatives(path+"."+k, e)...)
		}
	case []any:
		for i, e := range x {
			out = append(out, negatives(fmt.Sprintf("%s[%d]", path, i), e)...)
		}
	}
	return out
}
