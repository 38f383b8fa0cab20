package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/asr/audio"
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

// MaxClip is the longest clip decoded (asr.max_duration, 10 minutes when 0); longer clips are
// rejected as too large.
func MaxClip(cfg *config.Config) time.Duration {
	if cfg.ASR.MaxDuration > 0 {
		return cfg.ASR.MaxDuration
	}
	return audio.DefaultMaxDuration
}

// GapWait is how long a missing chunk is waited for: the longest a chunk held by an instance that
// died can take to come back (its membership expiring, the partition's pin expiring, its ack wait
// expiring), plus a margin.
func GapWait(cfg *config.Config) time.Duration {
	ackWait := cfg.NATS.AckWait
	if ackWait <= 0 {
		ackWait = 30 * time.Second
	}
	return bus.MemberTTL + bus.PinnedTTL(cfg.NATS) + ackWait + 2*time.Second
}

// TakeOverWait is how long a call first seen mid-stream (its first chunk has a sequence number
// above 0) is held before it starts: after a failover or a restart, the chunks the previous
// instance had received but not acked come back only once their ack wait expires, after the
// chunks it never received. The call then starts at the lowest chunk held, so the utterance being
// spoken at the takeover is cut whole. It is the ack wait plus a margin, counted from the first
// sight of the call, which comes after the previous instance stopped sending InProgress.
func TakeOverWait(cfg *config.Config) time.Duration {
	ackWait := cfg.NATS.AckWait
	if ackWait <= 0 {
		ackWait = 30 * time.Second
	}
	return ackWait + 2*time.Second
}

type segmentStage struct {
	vad     segment.VAD
	maxClip time.Duration
	opts    segment.Options
	idle    time.Duration
	gapWait time.Duration
	hold    time.Duration // TakeOverWait
	// maxCall bounds the chunks one call holds (pipeline.max_call_chunks); budget bounds the
	// chunks all calls of one worker hold (half of nats.max_ack_pending, shared by the workers).
	maxCall, budget int
	// maxCalls bounds the calls one worker keeps (pipeline.max_calls shared by the workers).
	maxCalls int
	calls    *callCounter
	dlq      Noticer
	log      *slog.Logger
	m        *metrics

	// registry tells the recordings published under one call id apart; nil: no check.
	registry CallRegistry

	// owns reports whether this instance still consumes a call's partition; nil: every call.
	owns atomic.Pointer[func(callID string) bool]

	mu     sync.Mutex
	states map[int]map[string]*callState // per worker, per call
}

// owned reports whether this instance still consumes the call's partition.
func (s *segmentStage) owned(callID string) bool {
	f := s.owns.Load()
	return f == nil || (*f)(callID)
}

var (
	_ stages.Stage[*Work]  = (*segmentStage)(nil)
	_ stages.Ticker[*Work] = (*segmentStage)(nil)
	_ stages.Closer[*Work] = (*segmentStage)(nil)
)

func newSegmentStage(cfg *config.Config, parts Parts, dlq Noticer, calls *callCounter, log *slog.Logger, m *metrics) *segmentStage {
	vad := parts.VAD
	if vad == nil {
		vad = segment.Energy{}
	}
	idle := cfg.Pipeline.IdleFlush
	if idle <= 0 {
		idle = 10 * time.Second
	}
	def := config.Defaults()
	maxCall, pending := cfg.Pipeline.MaxCallChunks, cfg.NATS.MaxAckPending
	if maxCall <= 0 {
		maxCall = def.Pipeline.MaxCallChunks
	}
	if pending <= 0 {
		pending = def.NATS.MaxAckPending
	}
	maxCalls := cfg.Pipeline.MaxCalls
	if maxCalls <= 0 {
		maxCalls = def.Pipeline.MaxCalls
	}
	budget := max(maxCall, pending/2/max(1, cfg.Pipeline.SegmentWorkers))
	return &segmentStage{vad: vad, maxClip: MaxClip(cfg), opts: segment.Options{MaxUtterance: cfg.Pipeline.MaxUtterance}, idle: idle, gapWait: GapWait(cfg), hold: TakeOverWait(cfg),
		maxCall: maxCall, budget: budget, maxCalls: max(1, maxCalls/max(1, cfg.Pipeline.SegmentWorkers)), calls: calls, dlq: dlq, log: log, m: m, states: map[int]map[string]*callState{}}
}

func (s *segmentStage) Name() string { return StageSegment }

// callState is one stream-mode call on one worker.
type callState struct {
	callID   string
	expected uint64
	pending  map[uint64]heldChunk
	chans    []*segment.Channel[*stages.Txn]
	roles    []string
	next16   int64 // position after the last applied chunk
	lastSeen time.Time
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
}

type heldChunk struct {
	chunk wire.Chunk
	msg   *Message
	deps  []*stages.Txn
	since time.Time
}

// missingFor is how long the chunk the call waits for has been missing: since the earliest
// held chunk arrived.
func (st *callState) missingFor(now time.Time) time.Duration {
	var oldest time.Time
	for _, h := range st.pending {
		if oldest.IsZero() || h.since.Before(oldest) {
			oldest = h.since
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return now.Sub(oldest)
}

// lost reports whether the chunk the call waits for should be declared lost now.
func (s *segmentStage) lost(st *callState, now time.Time) bool {
	n := len(st.pending)
	return (n > 0 && st.held() >= s.maxCall) || (n > ReorderWindow && st.missingFor(now) >= s.gapWait) ||
		(n > 0 && st.missingFor(now) >= s.gapWait+s.idle)
}

// held is how many chunks the call holds unacked: buffered in its channels or waiting in order.
func (st *callState) held() int {
	n := 0
	for _, ch := range st.chans {
		n = max(n, ch.Held())
	}
	return n + len(st.pending)
}

// bound keeps a call within pipeline.max_call_chunks: a call waiting for a missing chunk declares
// it lost; one buffering a long utterance is cut there.
func (s *segmentStage) bound(calls map[string]*callState, st *callState, out stages.Emitter[*Work]) {
	for len(st.pending) > 0 && st.held() >= s.maxCall {
		s.gap(calls, st, out)
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
func (s *segmentStage) overBudget(calls map[string]*callState, out stages.Emitter[*Work]) {
	total := 0
	for _, st := range calls {
		total += st.held()
	}
	for total > s.budget {
		var top *callState
		for _, st := range calls {
			if top == nil || st.held() > top.held() {
				top = st
			}
		}
		before := top.held()
		if len(top.pending) > 0 {
			s.gap(calls, top, out)
		} else {
			s.cutEarly(top, "nats.max_ack_pending", out)
		}
		if top.held() >= before {
			return
		}
		total -= before - top.held()
	}
}

func (s *segmentStage) worker(w int) map[string]*callState {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.states[w]
	if m == nil {
		m = map[string]*callState{}
		s.states[w] = m
	}
	return m
}

func (s *segmentStage) Process(ctx context.Context, w int, it stages.Item[*Work], out stages.Emitter[*Work]) error {
	msg := it.V.Msg
	if msg == nil {
		return fmt.Errorf("segment: an item without an input message reached the first stage")
	}
	mode, err := wire.ModeOf(msg.Header)
	if err != nil {
		return headerReject(err)
	}
	callID, err := wire.CheckCallID(msg.Header, msg.Subject)
	if err != nil {
		return headerReject(err)
	}
	if mode == wire.ModeClip {
		return s.clip(ctx, it, callID, out)
	}
	return s.chunk(ctx, w, it, callID, out)
}

func headerReject(err error) error {
	var he *wire.HeaderError
	if errors.As(err, &he) {
		return &stages.Rejection{Code: he.Code, Err: he}
	}
	return stages.Reject(wire.ReasonBadHeader, "%v", err)
}

// decodeReject classifies an audio decoding error.
func decodeReject(err error) error {
	msg := err.Error()
	code := wire.ReasonNotAudio
	switch {
	case errors.Is(err, audio.ErrNoSamples) || strings.Contains(msg, "empty input"):
		code = wire.ReasonEmpty
	case strings.Contains(msg, "truncated") || strings.Contains(msg, "shorter than") || strings.Contains(msg, "file has"):
		code = wire.ReasonTruncated
	case strings.Contains(msg, "exceeds the maximum"):
		code = wire.ReasonTooLarge
	case strings.Contains(msg, "sample rate"):
		code = wire.ReasonBadRate
	}
	return &stages.Rejection{Code: code, Err: err}
}

func formatOf(codec string) (audio.Format, error) {
	switch wire.Codec(strings.ToLower(codec)) {
	case "", "wav":
		return audio.FormatAuto, nil
	case wire.CodecS16LE:
		return audio.FormatS16LE, nil
	case wire.CodecULaw:
		return audio.FormatMulaw, nil
	case wire.CodecALaw:
		return audio.FormatAlaw, nil
	}
	return "", &wire.HeaderError{Header: wire.HeaderCodec, Code: wire.ReasonBadHeader,
		Msg: fmt.Sprintf("%q is not a supported codec; use wav, pcm_s16le, mulaw or alaw", codec)}
}

// clip segments a whole recording: every utterance depends on the one input.
func (s *segmentStage) clip(ctx context.Context, it stages.Item[*Work], callID string, out stages.Emitter[*Work]) error {
	msg := it.V.Msg
	data := msg.Data
	if ref := msg.Header.Get(wire.HeaderObject); ref != "" {
		if msg.Fetch == nil {
			return stages.Reject(wire.ReasonObjectNotFound, "%s: %q names an object, but no object store is available", wire.HeaderObject, ref)
		}
		b, err := msg.Fetch.Object(ctx, ref)
		switch {
		case errors.Is(err, bus.ErrObjectRef):
			return stages.Reject(wire.ReasonBadObjectRef, "%s: %v", wire.HeaderObject, err)
		case errors.Is(err, bus.ErrObjectTooLarge):
			return stages.Reject(wire.ReasonTooLarge, "%s: %v", wire.HeaderObject, err)
		case errors.Is(err, jetstream.ErrObjectNotFound) || errors.Is(err, jetstream.ErrBucketNotFound):
			return stages.Reject(wire.ReasonObjectNotFound, "%s: object %q not found: %v", wire.HeaderObject, ref, err)
		case err != nil:
			return fmt.Errorf("fetching object %q: %w", ref, err)
		}
		data = b
	}
	if len(data) == 0 {
		return stages.Reject(wire.ReasonEmpty, "the clip is empty (no bytes and no %s reference)", wire.HeaderObject)
	}
	format, err := formatOf(msg.Header.Get(wire.HeaderCodec))
	if err != nil {
		return headerReject(err)
	}
	opt := audio.Options{Format: format, MaxDuration: s.maxClip}
	declared := 0
	if r := msg.Header.Get(wire.HeaderRate); r != "" {
		if declared, err = strconv.Atoi(strings.TrimSpace(r)); err != nil || declared < audio.MinSampleRate || declared > audio.MaxSampleRate {
			return stages.Reject(wire.ReasonBadRate, "%s: %q is not a sample rate between %d and %d Hz", wire.HeaderRate, r, audio.MinSampleRate, audio.MaxSampleRate)
		}
		opt.SampleRate = declared
	}
	if c := msg.Header.Get(wire.HeaderChannels); c != "" {
		if opt.Channels, err = strconv.Atoi(strings.TrimSpace(c)); err != nil || opt.Channels < 1 || opt.Channels > wire.MaxChannels {
			return stages.Reject(wire.ReasonBadHeader, "%s: %q is not a channel count between 1 and %d", wire.HeaderChannels, c, wire.MaxChannels)
		}
	}
	mixed, err := audio.Decode(data, opt)
	if err != nil {
		return decodeReject(err)
	}
	if declared != 0 && format == audio.FormatAuto && mixed.SourceRate != declared {
		return stages.Reject(wire.ReasonBadRate, "%s declares %d Hz but the WAV header says %d Hz", wire.HeaderRate, declared, mixed.SourceRate)
	}
	roleHeader := msg.Header.Get(wire.HeaderRole)
	nroles := len(strings.Split(roleHeader, ","))
	chans := [][]float32{mixed.Samples}
	roles := wire.Roles(roleHeader, 1)
	if mixed.SourceChannels > 1 && roleHeader != "" && nroles == mixed.SourceChannels {
		roles = wire.Roles(roleHeader, mixed.SourceChannels)
		chans = chans[:0]
		for i := 1; i <= mixed.SourceChannels; i++ {
			opt.Channel = i
			a, err := audio.Decode(data, opt)
			if err != nil {
				return decodeReject(err)
			}
			chans = append(chans, a.Samples)
		}
	}
	start := time.Now()
	n := 0
	for ch, pcm := range chans {
		cuts, err := segment.Clip(pcm, s.vad, s.opts)
		if err != nil {
			return fmt.Errorf("voice activity detection: %w", err)
		}
		for _, c := range cuts {
			w := &Work{CallID: callID, Mode: wire.ModeClip, Channel: ch, Role: roles[ch], Start: c.Start,
				PCM: pcm[c.Start:c.End], Arrived: arrivedOf(it.Deps), Clip: msg.StreamSeq}
			w.timed(StageSegment, start)
			s.calls.add(callID, 1)
			out(stages.Item[*Work]{V: w, Deps: it.Deps, Key: callID})
			n++
		}
	}
	if n == 0 {
		s.log.Info("clip holds no speech; nothing to publish", "call_id", callID, "duration_ms", mixed.Duration().Milliseconds())
	}
	if strings.EqualFold(msg.Header.Get(wire.HeaderEnd), "true") {
		out(stages.Item[*Work]{V: &Work{CallID: callID, Mode: wire.ModeClip, Summary: true, Clip: msg.StreamSeq}, Deps: it.Deps, Key: callID})
	}
	return nil
}

// chunk handles one stream-mode chunk: in order, reordered within the window, or rejected.
func (s *segmentStage) chunk(ctx context.Context, w int, it stages.Item[*Work], callID string, out stages.Emitter[*Work]) error {
	msg := it.V.Msg
	c, err := wire.ParseChunk(msg.Header, msg.Subject)
	if err != nil {
		return headerReject(err)
	}
	calls := s.worker(w)
	st := calls[callID]
	if st != nil && st.reused {
		if c.End {
			delete(calls, callID)
		}
		return reusedReject(callID, c)
	}
	rec, reused, err := s.recording(ctx, st, callID, c, msg)
	if err != nil {
		return err
	}
	if reused {
		if st == nil || st.ended {
			// Every chunk of this second recording is rejected, up to its End.
			calls[callID] = &callState{callID: callID, reused: !c.End}
		}
		return reusedReject(callID, c)
	}
	if st == nil && len(calls) >= s.maxCalls {
		return fmt.Errorf("this segment worker holds %d calls (pipeline.max_calls); call %s waits until some end", len(calls), callID)
	}
	if st == nil {
		// A call seen for the first time at its first chunk starts at once. Seen first later in
		// the stream (after a failover or a restart), it is held for TakeOverWait: the chunks
		// of its unpublished utterance that the previous instance held come back only when their
		// ack wait expires; it then starts at the lowest chunk held.
		st = &callState{callID: callID, expected: c.Seq, pending: map[uint64]heldChunk{}, next16: -1}
		if c.Seq > 0 {
			st.holdUntil, st.heldTop = time.Now().Add(s.hold), c.Seq
			s.log.Info("call first seen mid-stream; holding it until earlier chunks can be redelivered",
				"call_id", callID, "seq", c.Seq, "hold", s.hold.String())
		}
		calls[callID] = st
	}
	if rec.Epoch != 0 {
		st.rec = rec
	}
	st.lastSeen = time.Now()
	if !st.holdUntil.IsZero() {
		if _, dup := st.pending[c.Seq]; dup {
			return stages.ErrDuplicate
		}
		stages.Retain(it.Deps)
		st.pending[c.Seq] = heldChunk{chunk: c, msg: msg, deps: it.Deps, since: time.Now()}
		st.heldTop = max(st.heldTop, c.Seq)
		if len(st.pending) >= s.maxCall || !time.Now().Before(st.holdUntil) {
			s.start(calls, st, out)
		}
		return nil
	}
	switch {
	case c.Seq == st.expected:
		err := s.apply(st, c, msg, it.Deps, out)
		s.drainPending(calls, st, out)
		s.bound(calls, st, out)
		return err
	case c.Seq > st.expected:
		if _, dup := st.pending[c.Seq]; dup {
			return stages.ErrDuplicate
		}
		stages.Retain(it.Deps)
		st.pending[c.Seq] = heldChunk{chunk: c, msg: msg, deps: it.Deps, since: time.Now()}
		if s.lost(st, time.Now()) {
			s.gap(calls, st, out)
		}
		s.bound(calls, st, out)
		return nil
	default: // c.Seq < st.expected
		if msg.Delivered > 1 {
			// A redelivery of an earlier chunk (its utterance failed, or the ack was lost):
			// replay the call from it. Held chunks are Naked and come back in order; the results
			// replayed have the ids they had and JetStream drops the duplicates.
			s.log.Info("replaying a call from a redelivered chunk", "call_id", callID, "seq", c.Seq, "expected", st.expected)
			s.abandon(st)
			st.expected = c.Seq
			st.next16 = -1
			err := s.apply(st, c, msg, it.Deps, out)
			s.drainPending(calls, st, out)
			return err
		}
		s.m.chunkProblem(wire.ReasonLateChunk)
		return stages.Reject(wire.ReasonLateChunk, "chunk %d arrived after the call had moved on to chunk %d (declared lost, or a duplicate)",
			c.Seq, st.expected)
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
		if rec.End != 0 && msg.StreamSeq < rec.End && msg.Delivered == 1 {
			s.m.chunkProblem(wire.ReasonLateChunk)
			return rec, false, stages.Reject(wire.ReasonLateChunk, "chunk %d arrived after the call had ended", c.Seq)
		}
		return rec, rec.End != 0 && msg.StreamSeq > rec.End, nil
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
func (s *segmentStage) start(calls map[string]*callState, st *callState, out stages.Emitter[*Work]) {
	st.holdUntil = time.Time{}
	st.expected = lowestHeld(st)
	s.log.Info("starting a call taken over mid-stream", "call_id", st.callID, "seq", st.expected, "held", len(st.pending))
	for {
		s.drainPending(calls, st, out)
		if len(st.pending) == 0 || st.expected >= st.heldTop {
			break
		}
		s.flush(st, out)
		st.expected = lowestHeld(st)
		st.next16 = -1
	}
	for len(st.pending) > 0 && s.lost(st, time.Now()) {
		s.gap(calls, st, out)
	}
}

// lowestHeld is the lowest sequence number a call holds (0 when it holds none).
func lowestHeld(st *callState) uint64 {
	first, low := true, uint64(0)
	for q := range st.pending {
		if first || q < low {
			first, low = false, q
		}
	}
	return low
}

// drainPending applies held chunks that are now in order.
func (s *segmentStage) drainPending(calls map[string]*callState, st *callState, out stages.Emitter[*Work]) {
	for {
		h, ok := st.pending[st.expected]
		if !ok {
			break
		}
		delete(st.pending, st.expected)
		err := s.apply(st, h.chunk, h.msg, h.deps, out)
		stages.Release(h.deps, err)
	}
}

// gap declares the chunks before the first held one lost: what is buffered is cut, one DLQ entry
// (reason sequence_gap, no audio, the headers of the chunk after the gap, Sentio-Missing naming
// the lost chunks) reports it, and the call goes on from the chunk after the gap. A missing chunk
// that turns up later is rejected as late_chunk.
func (s *segmentStage) gap(calls map[string]*callState, st *callState, out stages.Emitter[*Work]) {
	seqs := make([]uint64, 0, len(st.pending))
	for q := range st.pending {
		seqs = append(seqs, q)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	first := seqs[0]
	h := st.pending[first]
	s.flush(st, out)
	s.m.chunkProblem(wire.ReasonSequenceGap)
	reason := fmt.Sprintf("chunks %d..%d of call %s never arrived (waited while %d later chunks came); the call goes on from chunk %d",
		st.expected, first-1, st.callID, len(st.pending), first)
	if s.dlq != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := s.dlq.Notice(ctx, bus.DLQEntry{Subject: h.msg.Subject, Header: h.msg.Header,
			Code: wire.ReasonSequenceGap, Reason: reason, Stage: StageSegment, MsgID: fmt.Sprintf("gap-%s-%d-%d", st.callID, st.expected, first-1),
			Extra: map[string]string{wire.HeaderMissing: fmt.Sprintf("%d-%d", st.expected, first-1)}})
		cancel()
		if err != nil {
			s.log.Error("could not write the sequence gap to the DLQ", "call_id", st.callID, "reason", reason, "err", err)
		}
	}
	s.log.Warn("sequence gap in a stream", "call_id", st.callID, "reason", reason)
	st.expected = first
	st.next16 = -1
	s.drainPending(calls, st, out)
}

// apply feeds an in-order chunk to the channel segmenters. The chunk's own problems reject it
// (the call goes on); expected advances either way, and an End chunk ends the call either way.
func (s *segmentStage) apply(st *callState, c wire.Chunk, msg *Message, deps []*stages.Txn, out stages.Emitter[*Work]) error {
	st.expected = c.Seq + 1
	err := s.feed(st, c, msg, deps, out)
	if !c.End && slices.Contains(st.rec.Flushes, c.Seq) {
		// The call was cut here before (idle, a bound): a replay cuts at the same place.
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
	out(stages.Item[*Work]{V: &Work{CallID: st.callID, Mode: wire.ModeStream, Summary: true}, Deps: deps, Key: st.callID, Always: true})
	st.ended = true
	if s.registry != nil && st.rec.Epoch != 0 && msg.StreamSeq != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		if err := s.registry.EndCall(ctx, st.callID, st.rec.Epoch, msg.StreamSeq); err != nil {
			s.log.Warn("could not record the end of a call; a reuse of its id after a restart will not be recognised", "call_id", st.callID, "err", err)
		}
		cancel()
	}
	st.chans = nil // the state stays, without its buffers, for pipeline.idle_flush (late chunks)
	for q, h := range st.pending {
		s.m.chunkProblem(wire.ReasonLateChunk)
		stages.Release(h.deps, stages.Reject(wire.ReasonLateChunk, "chunk %d arrived after chunk %d ended the stream", q, c.Seq))
		delete(st.pending, q)
	}
}

// feed decodes an in-order chunk and pushes it to the channel segmenters.
func (s *segmentStage) feed(st *callState, c wire.Chunk, msg *Message, deps []*stages.Txn, out stages.Emitter[*Work]) error {
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
		st.chans = make([]*segment.Channel[*stages.Txn], c.Channels)
		for i := range st.chans {
			st.chans[i] = segment.NewChannel[*stages.Txn](s.vad, s.opts)
		}
	}
	st.roles = c.Roles
	if len(msg.Data) == 0 {
		return nil
	}
	start := time.Now()
	format, _ := formatOf(string(c.Codec))
	pcms := make([][]float32, c.Channels)
	for i := range pcms {
		a, err := audio.Decode(msg.Data, audio.Options{Format: format, SampleRate: c.Rate, Channels: c.Channels, Channel: i + 1})
		if err != nil {
			return decodeReject(err)
		}
		pcms[i] = a.Samples
	}
	pos := st.next16
	if c.Offset >= 0 {
		pos = c.Offset * segment.SampleRate / int64(c.Rate)
	} else if pos < 0 {
		pos = int64(c.Seq) * int64(len(pcms[0]))
	}
	st.next16 = pos + int64(len(pcms[0]))
	for i, pcm := range pcms {
		stages.Retain(deps)
		utts, silent, err := st.chans[i].Push(pos, pcm, deps[0])
		stages.Release(silent, nil)
		s.emit(st, i, utts, start, out)
		if err != nil {
			return fmt.Errorf("voice activity detection: %w", err)
		}
	}
	return nil
}

// emit sends the utterances of one Push or Flush downstream, then drops the channel's references
// on the chunks they used (each utterance holds its own).
func (s *segmentStage) emit(st *callState, ch int, utts []segment.Utterance[*stages.Txn], start time.Time, out stages.Emitter[*Work]) {
	seen := map[*stages.Txn]bool{}
	var used []*stages.Txn
	for _, u := range utts {
		role := "unknown"
		if ch < len(st.roles) {
			role = st.roles[ch]
		}
		w := &Work{CallID: st.callID, Mode: wire.ModeStream, Channel: ch, Role: role, Start: u.Start, PCM: u.PCM, Arrived: arrivedOf(u.Tokens)}
		w.timed(StageSegment, start)
		s.calls.add(st.callID, 1)
		out(stages.Item[*Work]{V: w, Deps: u.Tokens, Key: st.callID})
		for _, t := range u.Tokens {
			if !seen[t] {
				seen[t] = true
				used = append(used, t)
			}
		}
	}
	stages.Release(used, nil)
}

// flush cuts every channel of a call (end of stream, idle, a gap, a layout change).
func (s *segmentStage) flush(st *callState, out stages.Emitter[*Work]) {
	start := time.Now()
	for i, ch := range st.chans {
		utts, silent, err := ch.Flush()
		if err != nil {
			toks := ch.Abandon()
			stages.Release(toks, fmt.Errorf("voice activity detection: %w", err))
			continue
		}
		stages.Release(silent, nil)
		s.emit(st, i, utts, start, out)
	}
}

// abandon drops everything a call holds; the inputs are Naked for redelivery.
func (s *segmentStage) abandon(st *callState) {
	for _, ch := range st.chans {
		stages.Release(ch.Abandon(), stages.ErrAbandoned)
	}
	for q, h := range st.pending {
		stages.Release(h.deps, stages.ErrAbandoned)
		delete(st.pending, q)
	}
}

// Tick hands back calls whose partition moved to another instance, flushes calls that went quiet
// and forgets calls quiet for long.
func (s *segmentStage) Tick(ctx context.Context, w int, now time.Time, out stages.Emitter[*Work]) {
	calls := s.worker(w)
	for id, st := range calls {
		if !s.owned(id) {
			// The call's partition was handed over to another instance (one joined): what this
			// one still holds of the call goes back unacked, so the new owner receives it again
			// and cuts the utterance in progress whole (see TakeOverWait), instead of this one
			// flushing half of it after idle_flush.
			s.log.Debug("call moved to another instance; returning its held chunks", "call", id)
			s.abandon(st)
			delete(calls, id)
			continue
		}
		if !st.holdUntil.IsZero() {
			if now.Before(st.holdUntil) {
				continue
			}
			s.start(calls, st, out)
		}
		for len(st.pending) > 0 && (s.lost(st, now) || now.Sub(st.lastSeen) >= s.gapWait) {
			s.gap(calls, st, out)
		}
		quiet := now.Sub(st.lastSeen)
		if quiet < s.idle {
			continue
		}
		if (st.ended || st.reused || quiet > 6*s.idle) && len(st.pending) == 0 && st.held() == 0 {
			delete(calls, id)
			continue
		}
		s.cutRecorded(st, "no audio for pipeline.idle_flush", out)
	}
	s.overBudget(calls, out)
}

// Close abandons what the worker holds at shutdown: those chunks are redelivered.
func (s *segmentStage) Close(ctx context.Context, w int, out stages.Emitter[*Work]) {
	for id, st := range s.worker(w) {
		s.abandon(st)
		delete(s.worker(w), id)
	}
}
