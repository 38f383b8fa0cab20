package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sentio-health/sentio/asr/audio"
	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/segment"
	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// The segment stage turns input messages into utterances: a clip at once (segment_clip.go), a
// stream chunk by chunk, put back in order and held until its utterance is cut
// (segment_stream.go, with the reorder buffer in reorder.go).

type segmentStage struct {
	vad     segment.VAD
	maxClip time.Duration
	opts    segment.Options
	idle    time.Duration
	gapWait time.Duration
	hold    time.Duration // TakeOverWait
	// replayWait is ReplayWait: how long a replayed call waits for a chunk applied before.
	replayWait time.Duration
	// maxCall bounds the chunks one call holds (pipeline.max_call_chunks); budget bounds the
	// chunks all calls of one worker hold (half of nats.max_ack_pending, shared by the workers).
	maxCall, budget int
	// maxCalls bounds the calls one worker keeps (pipeline.max_calls shared by the workers).
	maxCalls int
	// inFlight counts each call's utterances not yet published (for its summary).
	inFlight *callCounter
	dlq      Noticer
	log      *slog.Logger
	m        *metrics

	// registry tells the recordings published under one call id apart; nil: no check.
	registry CallRegistry

	// owns reports whether this instance still consumes a call's partition; nil: every call.
	owns atomic.Pointer[func(callID string) bool]

	mu     sync.Mutex
	states map[int]map[string]*callState // per worker, per call
	// clock measures calls' quiet in stream time (see streamClock).
	clock streamClock
	// delivered is the highest audio-stream sequence handed to the stage, per partition (see
	// onTheWay).
	delivered [bus.Partitions]atomic.Uint64
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

// newSegmentStage builds the segment stage; zero values in cfg take the defaults of
// config.Defaults (tests pass partial configurations).
func newSegmentStage(cfg *config.Config, parts Parts, dlq Noticer, inFlight *callCounter, log *slog.Logger, m *metrics) *segmentStage {
	vad := parts.VAD
	if vad == nil {
		vad = segment.Energy{}
	}
	def := config.Defaults()
	or := func(v, d int) int {
		if v > 0 {
			return v
		}
		return d
	}
	idle := cfg.Pipeline.IdleFlush
	if idle <= 0 {
		idle = def.Pipeline.IdleFlush
	}
	workers := max(1, cfg.Pipeline.SegmentWorkers)
	maxCall := or(cfg.Pipeline.MaxCallChunks, def.Pipeline.MaxCallChunks)
	pending := or(cfg.NATS.MaxAckPending, def.NATS.MaxAckPending)
	return &segmentStage{vad: vad, maxClip: MaxClip(cfg), opts: segment.Options{MaxUtterance: cfg.Pipeline.MaxUtterance},
		idle: idle, gapWait: GapWait(cfg), hold: TakeOverWait(cfg), replayWait: ReplayWait(cfg),
		maxCall: maxCall, budget: max(maxCall, pending/2/workers),
		maxCalls: max(1, or(cfg.Pipeline.MaxCalls, def.Pipeline.MaxCalls)/workers),
		inFlight: inFlight, dlq: dlq, log: log, m: m, states: map[int]map[string]*callState{}}
}

func (s *segmentStage) Name() string { return StageSegment }

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
	raise(&s.delivered[bus.PartitionOf(it.Key)], msg.StreamSeq)
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
	defer s.clock.received(msg.Stored)() // emitting may wait for the next stages
	return s.chunk(ctx, w, it, callID, out)
}

func headerReject(err error) error {
	var he *wire.HeaderError
	if errors.As(err, &he) {
		return &stages.Rejection{Code: he.Code, Err: he}
	}
	return stages.Reject(wire.ReasonBadHeader, "%v", err)
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

// Tick hands back calls whose partition moved to another instance, flushes calls that went quiet
// and forgets calls quiet for long.
func (s *segmentStage) Tick(ctx context.Context, w int, now time.Time, out stages.Emitter[*Work]) {
	streams := s.worker(w)
	for id, st := range streams {
		if !s.owned(id) {
			// The call's partition was handed over to another instance (one joined): what this
			// one still holds of the call goes back unacked, so the new owner receives it again
			// and cuts the utterance in progress whole (see TakeOverWait), instead of this one
			// flushing half of it after idle_flush.
			s.log.Debug("call moved to another instance; returning its held chunks", "call", id)
			s.abandon(st)
			delete(streams, id)
			continue
		}
		if !st.holdUntil.IsZero() {
			if now.Before(st.holdUntil) {
				continue
			}
			s.start(streams, st, out)
		}
		for st.pending.len() > 0 && (s.gapDue(st, now) || now.Sub(st.lastSeen) >= s.gapWait) && s.gap(streams, st, out) {
		}
		quiet := s.clock.quietFor(st.lastSeen, st.lastStored, now)
		if st.expected < st.replayTop && st.pending.len() == 0 && st.held() > 0 && quiet >= s.replayWait {
			// A replayed call waits for nothing more: the rest of what it had applied was acked.
			s.skipAcked(st, st.replayTop, out)
		}
		if quiet < s.idle || s.onTheWay(ctx, st, now) {
			continue
		}
		if (st.ended || st.reused || quiet > 6*s.idle) && st.pending.len() == 0 && st.held() == 0 && !now.Before(st.keepUntil) {
			delete(streams, id)
			continue
		}
		s.cutRecorded(st, "no audio for pipeline.idle_flush", out)
	}
	s.overBudget(streams, out)
}

// onTheWay reports whether a call that looks quiet has its next chunk on the server, stored
// within pipeline.idle_flush of its latest one but not yet delivered (the server or the
// consumer slow, paused or reconnecting): the call spoke on, and an idle cut now would split
// its utterance. Chunks the stage was handed (each partition delivers in stream order) do not
// count: they were applied or rejected. Nor does a chunk not delivered within the gap wait,
// the longest the stage waits for a missing chunk.
func (s *segmentStage) onTheWay(ctx context.Context, st *callState, now time.Time) bool {
	if s.registry == nil || st.lastSeq == 0 || st.held() == 0 || now.Sub(st.lastSeen) >= s.gapWait {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, s.idle)
	next, ok, err := s.registry.NextStored(ctx, st.callID, st.lastSeq)
	cancel()
	if err != nil {
		s.log.Debug("could not ask the audio stream for a quiet call's next chunk; cutting it as idle", "call_id", st.callID, "err", err)
		return false
	}
	return ok && next.Seq > s.delivered[bus.PartitionOf(st.callID)].Load() && next.Stored.Sub(st.lastStored) < s.idle
}

// raise sets v to n when n is larger.
func raise(v *atomic.Uint64, n uint64) {
	for o := v.Load(); n > o && !v.CompareAndSwap(o, n); o = v.Load() {
	}
}

// Close abandons what the worker holds at shutdown: those chunks are redelivered.
func (s *segmentStage) Close(ctx context.Context, w int, out stages.Emitter[*Work]) {
	for id, st := range s.worker(w) {
		s.abandon(st)
		delete(s.worker(w), id)
	}
}
