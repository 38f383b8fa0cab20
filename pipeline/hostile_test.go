package pipeline

import (
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sentio-health/sentio/wire"
)

// dlqCodes reads the DLQ entries of a call until want have arrived and returns their reason codes.
func (r *rig) dlqCodes(callID string, want int) []string {
	r.t.Helper()
	var codes []string
	for _, m := range collect(r.t, r.js, r.cfg.NATS.DLQStream, wire.Subject(r.cfg.NATS.DLQSubject, callID), want, 10*time.Second) {
		codes = append(codes, m.Headers().Get(wire.HeaderReasonCode))
	}
	return codes
}

// Chunks 0, 2, then 1 marked as the end: chunk 2 comes after the end of the stream. It is
// rejected, the summary goes out, and nothing stays in flight.
func TestStreamChunkHeldPastTheEndSettles(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	cs := chunks("ended", threeBursts, 200)[:3]
	cs[1].c.End, cs[2].c.End = true, false
	r.sendChunks([]chunkMsg{cs[0], cs[2], cs[1]})
	summaryOf(t, r, "ended")
	r.settled(10 * time.Second)
	if codes := r.dlqCodes("ended", 1); len(codes) != 1 || codes[0] != wire.ReasonLateChunk {
		t.Fatalf("DLQ reason codes %v; want one %s for the chunk after the end", codes, wire.ReasonLateChunk)
	}
}

// The End chunk itself is rejected (not a whole number of frames): the call still ends with its
// summary, and the rejection is in the DLQ.
func TestStreamEndsWhenItsEndChunkIsRejected(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	cs := chunks("badend", threeBursts, 200)
	last := &cs[len(cs)-1]
	last.data = append(last.data, 7) // an odd byte count: truncated
	r.sendChunks(cs)
	s := summaryOf(t, r, "badend")
	if s.Utterances != 3 {
		t.Fatalf("summary counts %d utterances; want 3", s.Utterances)
	}
	r.settled(10 * time.Second)
	if codes := r.dlqCodes("badend", 1); len(codes) != 1 || codes[0] != wire.ReasonTruncated {
		t.Fatalf("DLQ reason codes %v; want one %s", codes, wire.ReasonTruncated)
	}
}

// A chunk whose headers are wrong past its sequence number (a channel count of 9) still takes
// its place in the call: rejected as bad_header, it is no sequence gap that holds the call for the
// gap wait, and as the End it still ends the call with its summary.
func TestStreamChunkWithABadHeaderKeepsItsPlace(t *testing.T) {
	for _, tc := range []struct {
		name string
		bad  func(n int) int // which chunk gets the bad header, of n
	}{
		{"mid-stream", func(int) int { return 11 }}, // in the pause between the first two bursts
		{"the end", func(n int) int { return n - 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, &fakeASR{}, nil)
			cs := chunks("badhdr", threeBursts, 200)
			cs[tc.bad(len(cs))].c.Channels = 9
			r.sendChunks(cs)
			s := summaryOf(t, r, "badhdr")
			if s.Utterances != 3 {
				t.Fatalf("summary counts %d utterances; want 3", s.Utterances)
			}
			r.settled(10 * time.Second)
			if codes := r.dlqCodes("badhdr", 1); len(codes) != 1 || codes[0] != wire.ReasonBadHeader {
				t.Fatalf("DLQ reason codes %v; want one %s", codes, wire.ReasonBadHeader)
			}
		})
	}
}

// A header naming another call than the subject is a lie: rejected, and the other call is not touched.
func TestCallIDHeaderDisagreeingWithTheSubjectIsRejected(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	h := nats.Header{}
	h.Set(wire.HeaderCallID, "victim")
	r.publish(wire.Subject(r.cfg.NATS.AudioSubject, "attacker"), h, wav(threeBursts, 16000))
	if codes := r.dlqCodes("attacker", 1); len(codes) != 1 || codes[0] != wire.ReasonBadHeader {
		t.Fatalf("DLQ reason codes %v; want one %s", codes, wire.ReasonBadHeader)
	}
	r.settled(10 * time.Second)
	if res := collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.>", 0, 200*time.Millisecond); len(res) != 0 {
		t.Fatalf("%d results published for a rejected input", len(res))
	}
}

func TestClipWithAMillionChannelsIsABadHeader(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	r.clip("wide", s16(threeBursts), map[string]string{wire.HeaderCodec: "pcm_s16le", wire.HeaderRate: "16000", wire.HeaderChannels: "1000000"})
	if codes := r.dlqCodes("wide", 1); len(codes) != 1 || codes[0] != wire.ReasonBadHeader {
		t.Fatalf("DLQ reason codes %v; want one %s", codes, wire.ReasonBadHeader)
	}
}

// A summary waits for every utterance of its call, however long one takes (here the first is
// held in ASR past the summary's wait while the others and the summary overtake it), and the
// consumer it reads the call's results with is deleted afterwards.
func TestSummaryWaitsForEveryUtterance(t *testing.T) {
	defer func(d time.Duration) { SummaryWait = d }(SummaryWait)
	SummaryWait = 200 * time.Millisecond
	cfg := testConfig()
	cfg.Pipeline.ASRWorkers = 2
	gate := make(chan struct{})
	a := &fakeASR{gate: gate, gated: func(n int32) bool { return n == 1 }}
	r := newRigWith(t, cfg, a, nil)
	r.sendChunks(chunks("slowcall", threeBursts, 200))
	// The two other utterances are published; the summary has reached its wait behind them.
	collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.*", 2, 10*time.Second)
	time.Sleep(3 * SummaryWait) // past the wait the summary used to give up after
	close(gate)
	if s := summaryOf(t, r, "slowcall"); s.Utterances != 3 {
		t.Fatalf("the summary counts %d utterances; want all 3", s.Utterances)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := 0
		stream, err := r.js.Stream(t.Context(), r.cfg.NATS.ResultStream)
		if err != nil {
			t.Fatal(err)
		}
		for info := range stream.ListConsumers(t.Context()).Info() {
			if slices.Contains(append(info.Config.FilterSubjects, info.Config.FilterSubject), "sentio.results.slowcall") {
				n++
			}
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d consumers of the call's results left after its summary", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
