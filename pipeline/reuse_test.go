package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// Two recordings published as clips under one call id each get their results: the clip's
// place in the audio stream is part of the utterance ids.
func TestClipsReusingACallIDEachGetTheirResults(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	r.clip("twice", wav(threeBursts, 16000), nil)
	if res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.twice", 3, 10*time.Second)); len(res) != 3 {
		t.Fatalf("%d results for the first clip of 3 utterances; want 3", len(res))
	}
	r.clip("twice", wav(tone(4, [2]float64{0.5, 2}), 16000), map[string]string{wire.HeaderEnd: "true"})
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.twice", 4, 10*time.Second))
	if len(res) != 4 {
		t.Fatalf("%d results for two clips of 3 and 1 utterances under one call id; want 4", len(res))
	}
	if s := summaryOf(t, r, "twice"); s.Utterances != 4 {
		t.Fatalf("the summary counts %d utterances; want 4", s.Utterances)
	}
	r.settled(10 * time.Second)
}

// A second stream under a call id whose stream ended is rejected chunk by chunk with its own
// reason code, also by an instance that never saw the first one: never a silent drop.
func TestStreamReusingACallIDIsRejected(t *testing.T) {
	r := newRig(t, &fakeASR{}, nil)
	first := chunks("again", threeBursts, 200)
	r.sendChunks(first)
	summaryOf(t, r, "again")
	r.settled(10 * time.Second)

	second := chunks("again", tone(3, [2]float64{0.5, 2}), 200)
	r.sendChunks(second)
	codes := r.dlqCodes("again", len(second))
	if len(codes) != len(second) {
		t.Fatalf("%d DLQ entries for the %d chunks of the second recording", len(codes), len(second))
	}
	for _, c := range codes {
		if c != wire.ReasonCallIDReused {
			t.Fatalf("DLQ reason codes %v; want %s", codes, wire.ReasonCallIDReused)
		}
	}
	r.settled(10 * time.Second)

	// A fresh instance (restart) knows it from the registry: a third recording is rejected
	// too, and chunks of a fourth sent without its chunk 0 (lost, say) are rejected as well: as
	// late chunks of the first recording where their numbers fall within it, as another
	// recording past its End.
	if err := r.comp.Drain(t.Context()); err != nil {
		t.Fatalf("draining the first instance: %v", err)
	}
	startComponent(t, r.srv.ClientURL(), r.cfg, testParts(t, &fakeASR{}), nil)
	third := chunks("again", tone(3, [2]float64{0.5, 2}), 200)
	r.sendChunks(third)
	headless := chunks("again", tone(12, [2]float64{0.5, 2}), 200)[1:]
	r.sendChunks(headless)
	want := len(second) + len(third) + len(headless)
	codes = r.dlqCodes("again", want)
	if len(codes) != want {
		t.Fatalf("%d DLQ entries after the third and fourth recordings; want %d", len(codes), want)
	}
	late := 0
	for i, c := range codes[len(second):] {
		switch {
		case i < len(third) && c != wire.ReasonCallIDReused:
			t.Fatalf("third recording, chunk %d: %s; want %s", i, c, wire.ReasonCallIDReused)
		case i >= len(third) && c == wire.ReasonLateChunk:
			late++
		case i >= len(third) && c != wire.ReasonCallIDReused:
			t.Fatalf("recording without chunk 0: reason %s", c)
		}
	}
	if late != len(first)-1 {
		t.Fatalf("%d of the headless recording's chunks rejected as late; want the %d numbered within the first recording", late, len(first)-1)
	}
	r.settled(10 * time.Second)
	if res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.again", 3, 100*time.Millisecond)); len(res) != 3 {
		t.Fatalf("%d results; want the first recording's 3", len(res))
	}
}

// killAfterFirstPublish publishes the first result (or the after-th), then kills its instance
// before the inputs are acked: they come back to the next instance.
type killAfterFirstPublish struct {
	Sink
	once  sync.Once
	kill  func()
	after int // publishes before the kill; 0 means 1
	n     int
	mu    sync.Mutex
}

func (k *killAfterFirstPublish) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	err := k.Sink.Publish(ctx, subject, msgID, data)
	if err == nil {
		k.mu.Lock()
		k.n++
		due := k.n >= max(k.after, 1)
		k.mu.Unlock()
		if due {
			k.once.Do(k.kill)
		}
	}
	return err
}

// An instance dies after publishing a stream's last utterance and before acking its chunks (the
// acks go out after the publish): the chunks come back to another instance, which did not see
// the start of the call and cuts them into an utterance that starts elsewhere. That utterance was
// published already and must not be published again under another id.
func TestStreamTakenOverAfterLostAcksDoesNotDouble(t *testing.T) {
	srv := testenv.RunJetStream(t)
	cfg := testConfig()
	k := &killAfterFirstPublish{after: 3}
	comp, _ := startComponent(t, srv.ClientURL(), cfg, testParts(t, &fakeASR{}), func(s Sink) Sink { k.Sink = s; return k })
	k.kill = comp.killForTest
	nc, js := connect(t, srv.ClientURL())
	r := &rig{t: t, srv: srv, nc: nc, js: js, cfg: cfg}
	r.sendChunks(chunks("lost-acks", threeBursts, 200))
	collect(t, js, cfg.NATS.ResultStream, "sentio.results.lost-acks", 3, 20*time.Second)
	startComponent(t, srv.ClientURL(), cfg, testParts(t, &fakeASR{}), nil)
	s := summaryOf(t, r, "lost-acks")
	r.settled(20 * time.Second)
	res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results.lost-acks", 3, 100*time.Millisecond))
	if len(res) != 3 || s.Utterances != 3 {
		t.Fatalf("%d results starting at %v, summary of %d utterances; want 3 and 3", len(res), starts(res), s.Utterances)
	}
}

// A call cut because no audio came for pipeline.idle_flush (publisher stalled) is cut at the same
// place when it is replayed (here after a crash that lost the acks), so the replay neither
// drops the speech after the cut (its utterance would get the id of the first one) nor doubles it.
func TestIdleFlushIsRepeatedOnReplay(t *testing.T) {
	srv := testenv.RunJetStream(t)
	cfg := testConfig()
	k := &killAfterFirstPublish{}
	comp, _ := startComponent(t, srv.ClientURL(), cfg, testParts(t, &fakeASR{}), func(s Sink) Sink { k.Sink = s; return k })
	k.kill = comp.killForTest
	nc, js := connect(t, srv.ClientURL())
	r := &rig{t: t, srv: srv, nc: nc, js: js, cfg: cfg}
	// Continuous speech; the publisher stalls after 2 s of it, then goes on for 2 s more.
	cs := chunks("stall", tone(5, [2]float64{0.5, 4.5}), 200)
	r.sendChunks(cs[:12])
	first := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results.stall", 1, 20*time.Second))
	if len(first) != 1 {
		t.Fatalf("no result from the idle flush")
	}
	startComponent(t, srv.ClientURL(), cfg, testParts(t, &fakeASR{}), nil)
	r.sendChunks(cs[12:])
	s := summaryOf(t, r, "stall")
	res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results.stall", 2, 5*time.Second))
	if len(res) != 2 || s.Utterances != 2 {
		t.Fatalf("%d results (%v), summary of %d utterances; want 2: the flushed one and the rest", len(res), starts(res), s.Utterances)
	}
}

// A clip replayed after the results stream's dedupe window (here 1 s; the acks were lost in a
// crash and the redelivery comes after the 2 s ack wait) does not double its results: a late
// replay is checked against the call's published results.
func TestReplayAfterTheDedupeWindowDoesNotDouble(t *testing.T) {
	srv := testenv.RunJetStream(t)
	cfg := testConfig()
	cfg.NATS.DedupeWindow = time.Second
	k := &killAfterFirstPublish{}
	comp, _ := startComponent(t, srv.ClientURL(), cfg, testParts(t, &fakeASR{}), func(s Sink) Sink { k.Sink = s; return k })
	k.kill = comp.killForTest
	nc, js := connect(t, srv.ClientURL())
	r := &rig{t: t, srv: srv, nc: nc, js: js, cfg: cfg}
	r.clip("late", wav(threeBursts, 16000), nil)
	collect(t, js, cfg.NATS.ResultStream, "sentio.results.late", 1, 10*time.Second)
	startComponent(t, srv.ClientURL(), cfg, testParts(t, &fakeASR{}), nil)
	r.settled(20 * time.Second)
	res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results.late", 3, time.Second))
	ids := map[string]int{}
	for _, x := range res {
		ids[x.UtteranceID]++
	}
	if len(res) != 3 || len(ids) != 3 {
		t.Fatalf("%d results with %d distinct ids; want 3 and 3", len(res), len(ids))
	}
}

// failingResults cannot read a call's results back (the summary fails), and says when it tried.
type failingResults struct {
	Sink
	tried chan struct{}
	once  sync.Once
}

func (f *failingResults) CallResults(ctx context.Context, callID string) ([]wire.Result, error) {
	f.once.Do(func() { close(f.tried) })
	return nil, errors.New("no responders (test)")
}

// The summary of a call fails on one instance, which then dies: its End chunk is redelivered to
// another instance, which did not see the call and must not take the End chunk for a late one:
// the summary is published and the DLQ stays empty.
func TestSummaryOfAFailedOverCallIsPublished(t *testing.T) {
	srv := testenv.RunJetStream(t)
	cfg := testConfig()
	f := &failingResults{tried: make(chan struct{})}
	comp, _ := startComponent(t, srv.ClientURL(), cfg, testParts(t, &fakeASR{}), func(s Sink) Sink { f.Sink = s; return f })
	nc, js := connect(t, srv.ClientURL())
	r := &rig{t: t, srv: srv, nc: nc, js: js, cfg: cfg}
	r.sendChunks(chunks("failover-summary", threeBursts, 200))
	select {
	case <-f.tried:
	case <-time.After(20 * time.Second):
		t.Fatal("the summary was never attempted")
	}
	comp.killForTest()
	startComponent(t, srv.ClientURL(), cfg, testParts(t, &fakeASR{}), nil)
	if s := summaryOf(t, r, "failover-summary"); s.Utterances != 3 {
		t.Fatalf("summary of %d utterances; want 3", s.Utterances)
	}
	r.settled(20 * time.Second)
	if dlq := collect(t, js, cfg.NATS.DLQStream, "sentio.dlq.>", 0, 100*time.Millisecond); len(dlq) != 0 {
		t.Fatalf("%d DLQ entries (%v); want none", len(dlq), dlq[0].Headers().Get(wire.HeaderReason))
	}
}
