package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sentio-health/sentio/asr/audio"
	"github.com/sentio-health/sentio/asr/resample"
	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/segment"
	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// ReorderWindow is how many chunks past a missing one must have arrived before the missing
// chunk can be declared lost; it is declared lost once it has also been missing for longer than
// the ack wait (plus a margin): after an instance dies, its unacked chunks come back only when
// their ack wait expires, while the chunks after them arrive at once. pipeline.max_call_chunks
// bounds the chunks held for one call regardless.
const ReorderWindow = 8

// GapWait is how long a missing chunk is waited for: the longest a chunk held by an instance that
// died can take to come back (its partition failing over, then its ack wait expiring).
func GapWait(cfg *config.Config) time.Duration {
	return bus.FailoverWindow(cfg.NATS) + bus.RedeliveryWait(cfg.NATS)
}

// TakeOverWait is how long a call first seen mid-stream (its first chunk has a sequence number
// above 0) is held before it starts: after a failover or a restart, the chunks the previous
// instance had received but not acked come back only once their ack wait expires, after the
// chunks it never received. The call then starts at the lowest chunk held, so the utterance being
// spoken at the takeover is cut whole. It is counted from the first sight of the call, which
// comes after the previous instance stopped sending InProgress.
func TakeOverWait(cfg *config.Config) time.Duration { return bus.RedeliveryWait(cfg.NATS) }

// ReplayWait is how long a call replayed from a redelivered chunk waits for a chunk it had
// applied before the replay: the chunks of a failed utterance are Naked together and come back
// together after the Nak delay, while those of utterances published meanwhile were acked and
// never come back. Past it, the missing chunks are taken for acked and the call is cut there,
// without a sequence gap; a chunk that was not acked after all comes back later and replays
// the call again from it.
func ReplayWait(cfg *config.Config) time.Duration { return bus.NakDelay(cfg.NATS) + time.Second }

// callState is one stream-mode call on one worker.
type callState struct {
	callID   string
	expected uint64
	pending  *reorder // chunks that came before their turn
	chans    []*segment.Channel[*stages.Hold]
	// resamplers carry each channel's resampling context from chunk to chunk (telephony rates).
	resamplers []*chunkResampler
	roles      []string
	// prompt is the call's Sentio-Prompt: chunk 0's, or the latest chunk's that carries one.
	prompt   string
	next16   int64 // position after the last applied chunk
	lastSeen time.Time
	// lastStored is when the stream stored the call's latest chunk (see streamClock), and
	// lastSeq that chunk's audio-stream sequence (see onTheWay).
	lastStored time.Time
	lastSeq    uint64
	// holdUntil is set while a call first seen mid-stream waits for earlier chunks to be
	// redelivered: every chunk is held until then (see TakeOverWait).
	holdUntil time.Time
	// heldTop is the highest sequence number held while a call first seen mid-stream waits.
	heldTop uint64
	// rec is the call's record in the registry (its recording), when known.
	rec bus.CallRecord
	// ended is set once the End chunk was applied.
	ended bool
	// reused marks the state of a second recording under a used call id: its chunks are
	// rejected (call_id_reused) up to its End.
	reused bool
	// holes are the chunk ranges [from, to) a call taken over mid-stream went on without, taken
	// for acked by the previous instance (see start). Under load their redelivery can come after
	// the hold: the call's summary then waits one more hold (Work.SummaryDelay), its state is
	// kept, and a hole's chunks, when they come, are cut as soon as its last one is applied.
	holes [][2]uint64
	// keepUntil keeps the state of an ended call that was taken over for its late chunks (those
	// of its holes, or others the previous instance held); they are cut by the hole's end or
	// by pipeline.idle_flush.
	keepUntil time.Time
	// replayTop is one past the highest chunk applied before the call was last replayed from a
	// redelivered chunk: chunks below it that do not come back were acked (see ReplayWait).
	replayTop uint64
	// takenOver marks a call first seen mid-stream (see TakeOverWait): the previous instance's
	// unacked chunks can come back even after the hold when the machine is loaded, so its
	// summary waits one more hold too, and its state is kept for them.
	takenOver bool
}

// holeEnd reports whether seq is the last chunk of one of the call's holes.
func (st *callState) holeEnd(seq uint64) bool {
	for _, h := range st.holes {
		if seq+1 == h[1] {
			return true
		}
	}
	return false
}

// gapDue reports whether the chunk the call waits for should be declared lost now.
func (s *segmentStage) gapDue(st *callState, now time.Time) bool {
	n, missing := st.pending.len(), st.pending.missingFor(now)
	return (n > 0 && st.held() >= s.maxCall) || (n > ReorderWindow && missing >= s.gapWait) ||
		(n > 0 && missing >= s.gapWait+s.idle) || (n > 0 && st.expected < st.replayTop && missing >= s.replayWait)
}

// held is how many chunks the call holds unacked: buffered in its channels or waiting in order.
func (st *callState) held() int {
	n := 0
	for _, ch := range st.chans {
		n = max(n, ch.Held())
	}
	return n + st.pending.len()
}

// bound keeps a call within pipeline.max_call_chunks: a call waiting for a missing chunk declares
// it lost; one buffering a long utterance is cut there.
func (s *segmentStage) bound(streams map[string]*callState, st *callState, out stages.Emitter[*Work]) {
	for st.pending.len() > 0 && st.held() >= s.maxCall && s.gap(streams, st, out) {
	}
	if st.held() >= s.maxCall {
		s.cutEarly(st, "pipeline.max_call_chunks", out)
	}
}

// cutEarly cuts what a call buffers before its pause, because a limit was reached.
func (s *segmentStage) cutEarly(st *callState, limit string, out stages.Emitter[*Work]) {
	s.m.chunkProblem("cut_early")
	s.log.Warn("call cut before its pause: it holds too many chunks", "call_id", st.callID, "held", st.held(), "limit", limit)
	s.cutRecorded(st, limit, out)
}

// cutRecorded cuts what a call buffers for a reason that depends on timing or load, and records
// the place in the call registry first, so that a replay of the call cuts there too and its
// utterances get the ids they had (see replayFlush).
func (s *segmentStage) cutRecorded(st *callState, why string, out stages.Emitter[*Work]) {
	if st.held() == 0 || st.expected == 0 {
		return
	}
	at := st.expected - 1
	if s.registry != nil && st.rec.Epoch != 0 && !slices.Contains(st.rec.Flushes, at) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := s.registry.RecordFlush(ctx, st.callID, st.rec.Epoch, at)
		cancel()
		if err != nil {
			// Not cut: a replay could not repeat the cut. The call waits for its pause (or End).
			s.log.Warn("could not record a cut in the call registry; not cutting", "call_id", st.callID, "why", why, "err", err)
			return
		}
	}
	st.rec.Flushes = append(st.rec.Flushes, at)
	s.flush(st, out)
}

// overBudget cuts the calls holding the most chunks until the worker's calls hold at most its
// share of nats.max_ack_pending, so that held chunks never stall a partition.
func (s *segmentStage) overBudget(streams map[string]*callState, out stages.Emitter[*Work]) {
	total := 0
	for _, st := range streams {
		total += st.held()
	}
	for total > s.budget {
		var top *callState
		for _, st := range streams {
			if top == nil || st.held() > top.held() {
				top = st
			}
		}
		before := top.held()
		switch {
		case !top.holdUntil.IsZero():
			// A call taken over and still waiting for its earlier chunks starts now.
			s.start(streams, top, out)
		case top.pending.len() > 0:
			s.gap(streams, top, out)
		default:
			s.cutEarly(top, "nats.max_ack_pending", out)
		}
		if top.held() >= before {
			return
		}
		total -= before - top.held()
	}
}

// chunk handles one stream-mode chunk: in order, reordered within the window, or rejected.
func (s *segmentStage) chunk(ctx context.Context, w int, it stages.Item[*Work], callID string, out stages.Emitter[*Work]) error {
	msg := it.V.Msg
	c, err := wire.ParseChunk(msg.Header, msg.Subject)
	if err != nil {
		var he *wire.HeaderError
		if errors.As(err, &he) && he.Header == wire.HeaderSeq {
			return headerReject(err)
		}
		// Its sequence number is known: the chunk keeps its place in the call, so that the call
		// neither waits for it as a gap nor misses its End, and is rejected in its turn (feed).
		msg.Invalid = headerReject(err)
	}
	streams := s.worker(w)
	st := streams[callID]
	if st != nil && st.reused {
		if c.End {
			delete(streams, callID)
		}
		return reusedReject(callID, c)
	}
	rec, reused, err := s.recording(ctx, st, callID, c, msg)
	if err != nil {
		return err
	}
	if reused {
		if st == nil || st.ended {
			// Every chunk of this second recording is rejected, up to its End. What the ended
			// call still held (chunks after its End) goes back.
			if st != nil {
				s.abandon(st)
			}
			streams[callID] = &callState{callID: callID, reused: !c.End, pending: newReorder(), next16: -1, lastSeen: time.Now()}
		}
		return reusedReject(callID, c)
	}
	if st != nil && st.ended && c.Seq > 0 && msg.Delivered == 1 {
		s.m.chunkProblem(wire.ReasonLateChunk)
		return stages.Reject(wire.ReasonLateChunk, "chunk %d arrived after the call had ended", c.Seq)
	}
	if st == nil && len(streams) >= s.maxCalls {
		s.evictEnded(streams, time.Now())
	}
	if st == nil && len(streams) >= s.maxCalls {
		return fmt.Errorf("this segment worker holds %d calls (pipeline.max_calls); call %s waits until some end", len(streams), callID)
	}
	if st == nil {
		// A call seen for the first time at its first chunk starts at once. Seen first later in
		// the stream after a failover or a restart (another instance applied its chunk 0), it
		// is held for TakeOverWait: the chunks
		// of its unpublished utterance that the previous instance held come back only when their
		// ack wait expires; it then starts at the lowest chunk held.
		st = &callState{callID: callID, expected: c.Seq, pending: newReorder(), next16: -1}
		if c.Seq > 0 && s.registry != nil && msg.StreamSeq != 0 && rec.Epoch == 0 && msg.Delivered == 1 {
			// No instance has applied chunk 0 of this call (it would have claimed the call id in
			// the registry): a new call whose first chunks arrive out of order. It waits for
			// chunk 0 under the reorder and gap rules, not for a take-over's redeliveries.
			st.expected = 0
		} else if c.Seq > 0 {
			st.holdUntil, st.heldTop, st.takenOver = time.Now().Add(s.hold), c.Seq, true
			s.log.Info("call first seen mid-stream; holding it until earlier chunks can be redelivered",
				"call_id", callID, "seq", c.Seq, "hold", s.hold.String())
		}
		streams[callID] = st
	}
	if rec.Epoch != 0 {
		st.rec = rec
	}
	st.lastSeen = time.Now()
	if msg.Stored.After(st.lastStored) {
		st.lastStored = msg.Stored
	}
	st.lastSeq = max(st.lastSeq, msg.StreamSeq)
	if !st.holdUntil.IsZero() {
		if !st.pending.put(c, msg, it.Deps, time.Now()) {
			return stages.ErrDuplicate
		}
		st.heldTop = max(st.heldTop, c.Seq)
		if st.pending.len() >= s.maxCall || !time.Now().Before(st.holdUntil) {
			s.start(streams, st, out)
		}
		return nil
	}
	switch {
	case c.Seq == st.expected:
		err := s.apply(st, c, msg, it.Deps, out)
		s.drainPending(streams, st, out)
		s.bound(streams, st, out)
		return err
	case c.Seq > st.expected:
		if !st.pending.put(c, msg, it.Deps, time.Now()) {
			return stages.ErrDuplicate
		}
		if s.gapDue(st, time.Now()) {
			s.gap(streams, st, out)
		}
		s.bound(streams, st, out)
		return nil
	default: // c.Seq < st.expected
		if msg.Delivered > 1 {
			// A redelivery of an earlier chunk (its utterance failed, or the ack was lost):
			// replay the call from it. Held chunks are Naked and come back in order; the results
			// replayed have the ids they had and JetStream drops the duplicates.
			s.log.Info("replaying a call from a redelivered chunk", "call_id", callID, "seq", c.Seq, "expected", st.expected)
			s.abandon(st)
			st.replayTop = max(st.replayTop, st.expected)
			st.expected = c.Seq
			st.next16 = -1
			err := s.apply(st, c, msg, it.Deps, out)
			s.drainPending(streams, st, out)
			return err
		}
		s.m.chunkProblem(wire.ReasonLateChunk)
		return stages.Reject(wire.ReasonLateChunk, "chunk %d arrived after the call had moved on to chunk %d (declared lost, or a duplicate)",
			c.Seq, st.expected)
	}
}

// evictEnded makes room for a new call in a full worker: it forgets the calls that ended and
// hold nothing, which are otherwise kept pipeline.idle_flush to reject their late chunks. The
// call registry rejects those as well (their record has an End), so it needs the registry.
func (s *segmentStage) evictEnded(streams map[string]*callState, now time.Time) {
	if s.registry == nil {
		return
	}
	for id, st := range streams {
		if st.ended && !st.reused && st.held() == 0 && !now.Before(st.keepUntil) {
			delete(streams, id)
		}
	}
}

// recording checks that a chunk belongs to the recording its call id names (see CallRegistry):
// chunk 0 claims the id for its recording; a call first seen mid-stream after its id's recording
// ended belongs to another recording. It returns the call's record when it read one.
func (s *segmentStage) recording(ctx context.Context, st *callState, callID string, c wire.Chunk, msg *Message) (rec bus.CallRecord, reused bool, err error) {
	if s.registry == nil || msg.StreamSeq == 0 {
		// Without the registry, only a new chunk 0 after the End this worker saw is recognised.
		return rec, st != nil && st.ended && c.Seq == 0 && msg.Delivered == 1, nil
	}
	switch {
	case c.Seq == 0:
		if rec, err = s.registry.ClaimCall(ctx, callID, msg.StreamSeq); err != nil {
			return rec, false, err
		}
		return rec, rec.Epoch != msg.StreamSeq, nil
	case st == nil:
		rec, ok, err := s.registry.LookupCall(ctx, callID)
		if err != nil || !ok {
			return bus.CallRecord{}, false, err
		}
		if rec.End == 0 || msg.StreamSeq <= rec.End && msg.Delivered > 1 {
			// The call runs, or a chunk of it (its End chunk included: its summary failed) is
			// redelivered.
			return rec, false, nil
		}
		// The call has ended: a chunk up to its End is a late one of it; past its End, a chunk of
		// another recording whose chunk 0 this instance did not see.
		if c.Seq <= rec.EndSeq {
			s.m.chunkProblem(wire.ReasonLateChunk)
			return rec, false, stages.Reject(wire.ReasonLateChunk, "chunk %d arrived after the call had ended with chunk %d", c.Seq, rec.EndSeq)
		}
		return rec, true, nil
	}
	return rec, false, nil
}

func reusedReject(callID string, c wire.Chunk) error {
	return stages.Reject(wire.ReasonCallIDReused, "chunk %d: call id %s already names another recording (a stream with its own chunk 0); use a new call id for each recording", c.Seq, callID)
}

// start ends the hold of a call first seen mid-stream: it goes on from the lowest chunk held.
// Chunks missing below the highest one held did not come back during the hold: the previous
// instance acked them (silence, or an utterance it published; it acks chunks out of order, so
// such holes can lie anywhere below what it had received), so the call is cut there and goes on
// from the next chunk held, with nothing to report. Chunks missing above it are gaps like any
// other.
func (s *segmentStage) start(streams map[string]*callState, st *callState, out stages.Emitter[*Work]) {
	st.holdUntil = time.Time{}
	st.expected, _ = st.pending.lowest()
	s.log.Info("starting a call taken over mid-stream", "call_id", st.callID, "seq", st.expected, "held", st.pending.len())
	for {
		s.drainPending(streams, st, out)
		if st.pending.len() == 0 || st.expected >= st.heldTop {
			break
		}
		s.flush(st, out)
		from := st.expected
		st.expected, _ = st.pending.lowest()
		st.holes = append(st.holes, [2]uint64{from, st.expected})
		st.next16 = -1
	}
	if len(st.holes) > 0 {
		s.log.Info("call taken over with chunks missing; taking them for acked by the previous instance, its summary waits for them one more hold",
			"call_id", st.callID, "holes", fmt.Sprint(st.holes), "hold", s.hold.String())
	}
	for st.pending.len() > 0 && s.gapDue(st, time.Now()) && s.gap(streams, st, out) {
	}
}

// skipAcked cuts a replayed call before the chunks from st.expected up to to, which it had
// applied before the replay and which did not come back (acked with their published
// utterances), and goes on from to.
func (s *segmentStage) skipAcked(st *callState, to uint64, out stages.Emitter[*Work]) {
	s.flush(st, out)
	s.log.Info("replayed call goes on without chunks acked before the replay", "call_id", st.callID, "from", st.expected, "to", to-1)
	st.expected, st.next16 = to, -1
}

// drainPending applies held chunks that are now in order.
func (s *segmentStage) drainPending(streams map[string]*callState, st *callState, out stages.Emitter[*Work]) {
	for {
		h, ok := st.pending.take(st.expected)
		if !ok {
			break
		}
		h.hold.Release(s.apply(st, h.chunk, h.msg, h.hold.Deps(), out))
	}
}

// gap declares the chunks before the first held one lost: one DLQ entry (reason sequence_gap,
// no audio, the headers of the chunk after the gap, Sentio-Missing naming the lost chunks)
// reports it, what is buffered is cut, and the call goes on from the chunk after the gap. A
// missing chunk that turns up later is rejected as late_chunk. When the DLQ entry cannot be
// written the call stays where it is (its chunks unacked) and gap reports false: the caller
// tries again later, so that the report is not lost.
//
// In a call replayed from a redelivered chunk, chunks missing below its replayTop were applied
// before the replay and acked since (their utterance was published): the call is cut there and
// goes on without a DLQ entry.
func (s *segmentStage) gap(streams map[string]*callState, st *callState, out stages.Emitter[*Work]) bool {
	first, _ := st.pending.lowest()
	if st.expected < st.replayTop {
		to := min(first, st.replayTop)
		s.skipAcked(st, to, out)
		if to == first {
			s.drainPending(streams, st, out)
			return true
		}
	}
	h := st.pending.chunks[first]
	reason := fmt.Sprintf("chunks %d..%d of call %s never arrived (waited while %d later chunks came); the call goes on from chunk %d",
		st.expected, first-1, st.callID, st.pending.len(), first)
	if s.dlq != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := s.dlq.Notice(ctx, bus.DLQEntry{Subject: h.msg.Subject, Header: h.msg.Header,
			Code: wire.ReasonSequenceGap, Reason: reason, Stage: StageSegment, MsgID: fmt.Sprintf("gap-%s-%d-%d", st.callID, st.expected, first-1),
			Extra: map[string]string{wire.HeaderMissing: fmt.Sprintf("%d-%d", st.expected, first-1)}})
		cancel()
		if err != nil {
			s.log.Error("could not write a sequence gap to the DLQ; the call waits and tries again", "call_id", st.callID, "reason", reason, "err", err)
			return false
		}
	}
	s.flush(st, out)
	s.m.chunkProblem(wire.ReasonSequenceGap)
	s.log.Warn("sequence gap in a stream", "call_id", st.callID, "reason", reason)
	st.expected = first
	st.next16 = -1
	s.drainPending(streams, st, out)
	return true
}

// apply feeds an in-order chunk to the channel segmenters. The chunk's own problems reject it
// (the call goes on); expected advances either way, and an End chunk ends the call either way.
func (s *segmentStage) apply(st *callState, c wire.Chunk, msg *Message, deps []*stages.Txn, out stages.Emitter[*Work]) error {
	st.expected = c.Seq + 1
	err := s.feed(st, c, msg, deps, out)
	if !c.End && (slices.Contains(st.rec.Flushes, c.Seq) || st.ended && st.holeEnd(c.Seq)) {
		// The call was cut here before (idle, a bound): a replay cuts at the same place. Or the
		// last chunk of a hole came late, after the End: nothing follows it.
		s.flush(st, out)
	}
	if c.End {
		s.end(st, c, msg, deps, out)
	}
	return err
}

// end cuts what a call holds and sends its summary. Chunks held after the End chunk belong to
// no call: they are rejected, and a late redelivery would start a fresh state (and dedupe).
func (s *segmentStage) end(st *callState, c wire.Chunk, msg *Message, deps []*stages.Txn, out stages.Emitter[*Work]) {
	s.flush(st, out)
	st.ended = true
	// Recorded before the summary goes: an instance that takes the call over from here knows
	// that it ended, and where.
	if s.registry != nil && st.rec.Epoch != 0 && msg.StreamSeq != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		if err := s.registry.EndCall(ctx, st.callID, st.rec.Epoch, msg.StreamSeq, c.Seq); err != nil {
			s.log.Warn("could not record the end of a call; a reuse of its id after a restart will not be recognised", "call_id", st.callID, "err", err)
		}
		cancel()
	}
	sum := &Work{CallID: st.callID, Mode: wire.ModeStream, Summary: true}
	if len(st.holes) > 0 || st.takenOver {
		sum.SummaryDelay = s.hold
		st.keepUntil = time.Now().Add(2 * s.hold)
	}
	out(stages.Item[*Work]{V: sum, Deps: deps, Key: st.callID, Always: true})
	st.chans = nil // the state stays, without its buffers, for pipeline.idle_flush (late chunks)
	st.pending.releaseAll(func(q uint64) error {
		s.m.chunkProblem(wire.ReasonLateChunk)
		return stages.Reject(wire.ReasonLateChunk, "chunk %d arrived after chunk %d ended the stream", q, c.Seq)
	})
}

// feed decodes an in-order chunk and pushes it to the channel segmenters.
func (s *segmentStage) feed(st *callState, c wire.Chunk, msg *Message, deps []*stages.Txn, out stages.Emitter[*Work]) error {
	if msg.Invalid != nil {
		st.next16 = -1 // its audio is not used: the next chunk's position is its own
		return msg.Invalid
	}
	frame := c.Codec.BytesPerSample() * c.Channels
	if len(msg.Data)%frame != 0 {
		s.m.chunkProblem(wire.ReasonTruncated)
		return stages.Reject(wire.ReasonTruncated, "chunk %d has %d bytes, not a whole number of %d-byte frames (%s, %d channel(s))",
			c.Seq, len(msg.Data), frame, c.Codec, c.Channels)
	}
	if len(msg.Data) == 0 && !c.End {
		return stages.Reject(wire.ReasonEmpty, "chunk %d is empty and is not the end of the stream", c.Seq)
	}
	if d := time.Duration(len(msg.Data)/frame) * time.Second / time.Duration(c.Rate); d > wire.MaxChunkDuration {
		s.m.chunkProblem(wire.ReasonTooLarge)
		return stages.Reject(wire.ReasonTooLarge, "chunk %d holds %s of audio; at most %s per chunk (send a long recording as a clip)", c.Seq, d, wire.MaxChunkDuration)
	}
	if len(st.chans) != c.Channels {
		s.flush(st, out)
		st.chans = make([]*segment.Channel[*stages.Hold], c.Channels)
		for i := range st.chans {
			st.chans[i] = segment.NewChannel[*stages.Hold](s.vad, s.opts)
		}
	}
	st.roles = c.Roles
	if c.Seq == 0 || c.Prompt != "" {
		st.prompt = c.Prompt // chunk 0's, or a later chunk's that repeats or replaces it
	}
	start := time.Now()
	// Telephony rates are resampled with context across chunk edges (see chunkResampler); other
	// rates chunk by chunk.
	whole := c.Rate != segment.SampleRate && (segment.SampleRate%c.Rate == 0 || c.Rate%segment.SampleRate == 0)
	format, _ := formatOf(string(c.Codec))
	pcms := make([][]float32, c.Channels)
	for i := range pcms {
		if len(msg.Data) == 0 {
			break
		}
		a, err := audio.Decode(msg.Data, audio.Options{Format: format, SampleRate: c.Rate, Channels: c.Channels, Channel: i + 1, KeepRate: whole})
		if err != nil {
			return decodeRejection(err)
		}
		pcms[i] = a.Samples
	}
	n16 := int64(len(pcms[0]))
	if whole {
		n16 = int64(resample.OutputLen(len(pcms[0]), c.Rate, segment.SampleRate))
	}
	pos := st.next16
	if c.Offset >= 0 {
		pos = c.Offset * segment.SampleRate / int64(c.Rate)
	} else if pos < 0 {
		pos = int64(c.Seq) * n16
	}
	if whole {
		if len(st.resamplers) != c.Channels || st.resamplers[0].rate != c.Rate || st.next16 < 0 ||
			pos < st.next16-segment.Tolerance || pos > st.next16+segment.Tolerance {
			// A new layout or a discontinuity (a gap, a replay, a takeover): no context.
			st.resamplers = make([]*chunkResampler, c.Channels)
			for i := range st.resamplers {
				st.resamplers[i] = &chunkResampler{rate: c.Rate}
			}
		}
	} else {
		st.resamplers = nil
	}
	st.next16 = pos + n16
	for i, pcm := range pcms {
		at := pos
		if whole {
			r := st.resamplers[i]
			at -= r.held()
			var err error
			if pcm, err = r.push(pcm); err == nil && c.End {
				var tail []float32
				tail, err = r.flush()
				pcm = append(pcm, tail...)
			}
			if err != nil {
				return fmt.Errorf("resampling chunk %d: %w", c.Seq, err)
			}
		}
		if len(pcm) == 0 && len(msg.Data) == 0 {
			continue
		}
		utts, silent, err := st.chans[i].Push(at, pcm, stages.Keep(deps))
		stages.ReleaseHolds(silent, nil)
		s.emit(st, i, utts, start, out)
		if err != nil {
			return fmt.Errorf("voice activity detection: %w", err)
		}
	}
	return nil
}

// emit sends the utterances of one Push or Flush downstream, then releases the channel's holds
// on the chunks they used (each utterance item takes its own references).
func (s *segmentStage) emit(st *callState, ch int, utts []segment.Utterance[*stages.Hold], start time.Time, out stages.Emitter[*Work]) {
	for _, u := range utts {
		role := "unknown"
		if ch < len(st.roles) {
			role = st.roles[ch]
		}
		deps := stages.DepsOf(u.Tokens)
		w := &Work{CallID: st.callID, Mode: wire.ModeStream, Channel: ch, Role: role, Start: u.Start, PCM: u.PCM, Arrived: arrivedOf(deps),
			Prompt: st.prompt}
		w.timed(StageSegment, start)
		s.inFlight.emitted(st.callID, deps)
		out(stages.Item[*Work]{V: w, Deps: deps, Key: st.callID})
	}
	for _, u := range utts {
		stages.ReleaseHolds(u.Tokens, nil) // shared by the utterances of one cut: released once
	}
}

// flush cuts every channel of a call (end of stream, idle, a gap, a layout change).
func (s *segmentStage) flush(st *callState, out stages.Emitter[*Work]) {
	start := time.Now()
	for i, ch := range st.chans {
		utts, silent, err := ch.Flush()
		if err != nil {
			stages.ReleaseHolds(ch.Abandon(), fmt.Errorf("voice activity detection: %w", err))
			continue
		}
		stages.ReleaseHolds(silent, nil)
		s.emit(st, i, utts, start, out)
	}
}

// abandon drops everything a call holds; the inputs are Naked for redelivery.
func (s *segmentStage) abandon(st *callState) {
	for _, ch := range st.chans {
		stages.ReleaseHolds(ch.Abandon(), stages.ErrAbandoned)
	}
	st.pending.releaseAll(func(uint64) error { return stages.ErrAbandoned })
}
