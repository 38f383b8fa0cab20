package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// publishStage publishes results (waiting for each PubAck) and call summaries.
type publishStage struct {
	sink        Sink
	models      map[string]string
	resultPfx   string
	includeText bool
	calls       *callCounter
	// dedupe is the results stream's dedupe window (see lateReplay).
	dedupe time.Duration
	// owedWait is how long a summary waits for an utterance that failed to be cut again from its
	// redelivered input (see callCounter) before it goes out without it.
	owedWait time.Duration
	log      *slog.Logger
	m        *metrics
	// red redacts or tags the results' texts (nil: redact.mode off).
	red *redaction
	// alerts evaluates alerts.rules on each result published (nil: no rules).
	alerts *alerter
}

var _ stages.Stage[*Work] = (*publishStage)(nil)

func newPublishStage(cfg *config.Config, parts Parts, sink Sink, calls *callCounter, log *slog.Logger, m *metrics) *publishStage {
	return &publishStage{sink: sink, models: parts.Models, resultPfx: bus.NamesOf(cfg.NATS).ResultSubject, includeText: cfg.Log.IncludeText, dedupe: bus.DuplicateWindow(cfg.NATS),
		owedWait: GapWait(cfg), calls: calls, log: log, m: m, red: newRedaction(cfg.Redact)}
}

func (s *publishStage) Name() string { return StagePublish }

// SummaryWait is how long a summary waits for the call's utterances still in the pipeline
// before it logs that it is still waiting. It waits for every one of them: each is published,
// rejected (never published: the summary goes out without it) or fails and is owed (cut again
// from its redelivered input; see callCounter); a hung model is the watchdog's business.
var SummaryWait = 30 * time.Second

func (s *publishStage) Process(ctx context.Context, _ int, it stages.Item[*Work], _ stages.Emitter[*Work]) error {
	w := it.V
	if w.Summary {
		// The summary waits for the call's utterances, which may still be queued behind it: it
		// waits on its own goroutine, holding its inputs, so that this worker goes on publishing.
		hold := stages.Keep(it.Deps)
		go func() {
			err := s.summary(ctx, w.CallID, w.Clip, w.SummaryDelay, it.Deps)
			if err != nil && ctx.Err() != nil {
				err = stages.ErrAbandoned
			} else if err != nil && !errors.Is(err, stages.ErrAbandoned) {
				s.log.Warn("call summary not published; its End input will be retried", "call_id", w.CallID, "err", err)
			}
			hold.Release(err)
		}()
		return nil
	}
	start := time.Now()
	r := w.result(s.models)
	transcript := r.Transcript // as transcribed, for the alert rules' phrases
	s.red.apply(r)
	if s.replayed(w, it.Deps) {
		p, err := s.published(ctx, r)
		if err != nil {
			return err
		}
		if p != nil {
			// Its events may not have been published (a crash between the two): they are
			// published again, and JetStream drops the ones it has.
			if p.UtteranceID != r.UtteranceID {
				transcript = p.Transcript
			}
			if err := s.alerts.publish(ctx, p, transcript); err != nil {
				return err
			}
			s.calls.add(w.CallID, -1)
			s.log.Info("utterance already published by an earlier delivery; not published again", "call_id", w.CallID, "utterance_id", r.UtteranceID,
				"channel", r.Channel, "start_ms", r.StartMS, "end_ms", r.EndMS)
			return nil
		}
	}
	events, err := s.alerts.evaluate(ctx, r, transcript)
	if err != nil {
		return err
	}
	total := time.Since(w.Arrived)
	r.TimingsMS["total"] = float64(total.Nanoseconds()) / 1e6
	data, err := wire.MarshalResult(r)
	if err != nil {
		return fmt.Errorf("encoding the result: %w", err)
	}
	if err := s.sink.Publish(ctx, wire.Subject(s.resultPfx, w.CallID), r.UtteranceID, data); err != nil {
		return err
	}
	if err := s.alerts.publishEvents(ctx, r, events); err != nil {
		return err
	}
	s.calls.add(w.CallID, -1)
	pub := time.Since(start)
	total = time.Since(w.Arrived)
	s.m.published(r, total, pub)
	attrs := []any{"call_id", r.CallID, "utterance_id", r.UtteranceID, "channel", r.Channel, "role", r.Role,
		"start_ms", r.StartMS, "end_ms", r.EndMS, "language", r.Language, "language_supported", r.LanguageSupported,
		"language_source", r.LanguageSource, "label", r.Label, "latency_ms", total.Milliseconds()}
	if s.includeText {
		attrs = append(attrs, "transcript", r.Transcript, "rationale", r.Rationale)
	}
	s.log.Info("utterance", attrs...)
	return nil
}

// replayed reports whether an utterance may have been published already under another delivery
// that JetStream's dedupe will not catch, so that the call's results must be read to tell:
//   - a stream utterance cut from a redelivered chunk: the instance that cut it first may have
//     published it and died before acking all of its chunks (acks follow the publish), and
//     cutting the chunks that came back, without the start of the call, can give it another
//     start and so another id;
//   - any utterance whose input was redelivered so long after it was stored that a result
//     published for it on an earlier delivery may have left the results stream's dedupe window
//     (half of it, for the time from storing to publishing).
func (s *publishStage) replayed(w *Work, deps []*stages.Txn) bool {
	for _, d := range deps {
		if d.Input().Delivered() <= 1 {
			continue
		}
		if w.Mode == wire.ModeStream {
			return true
		}
		in, ok := d.Input().(interface{ PublishedAt() time.Time })
		if ok && !in.PublishedAt().IsZero() && time.Since(in.PublishedAt()) > s.dedupe/2 {
			return true
		}
	}
	return false
}

// published returns the call's result that holds the utterance already, nil when there is
// none: under its id, or, in stream mode (where a call id names one recording), a result of the
// same channel that covers most of its span (the same speech, cut elsewhere).
func (s *publishStage) published(ctx context.Context, r *wire.Result) (*wire.Result, error) {
	results, err := s.sink.CallResults(ctx, r.CallID)
	if err != nil {
		return nil, fmt.Errorf("checking the results of call %s for a replayed utterance: %w", r.CallID, err)
	}
	for i, p := range results {
		if p.UtteranceID == r.UtteranceID {
			return &results[i], nil
		}
		if r.Mode == wire.ModeStream && p.Channel == r.Channel && covers(p, *r) {
			return &results[i], nil
		}
	}
	return nil, nil
}

// covers reports whether published result p spans more than half of result r.
func covers(p, r wire.Result) bool {
	overlap := min(p.EndMS, r.EndMS) - max(p.StartMS, r.StartMS)
	return overlap > 0 && 2*overlap > r.EndMS-r.StartMS
}

// summary waits for the call's utterances (see awaitUtterances), reads back every result of the
// call (whichever instance published them) and publishes the summary.
func (s *publishStage) summary(ctx context.Context, callID string, clip uint64, delay time.Duration, deps []*stages.Txn) error {
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := s.awaitUtterances(ctx, callID, deps); err != nil {
		return err
	}
	results, err := s.sink.CallResults(ctx, callID)
	if err != nil {
		return fmt.Errorf("summary of call %s: reading its results: %w", callID, err)
	}
	sum := Summarize(callID, results)
	data, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	if err := s.sink.Publish(ctx, wire.SummarySubject(s.resultPfx, callID), wire.SummaryID(callID, clip), data); err != nil {
		return err
	}
	s.alerts.forget(callID)
	s.log.Info("call summary", "call_id", callID, "utterances", sum.Utterances, "counts", sum.Counts)
	return nil
}

// awaitUtterances waits until none of the call's utterances is in the pipeline or owed. An
// owed utterance (it failed, and its input comes back) is waited for while the summary's own
// inputs are fine: its chunks are other inputs, redelivered meanwhile. When one of the summary's
// inputs failed too (a clip, or the End chunk of a stream, is the failed utterance's input), the
// summary gives it up (ErrAbandoned): the input can only come back once the summary lets it go,
// and it brings the summary again. Owed utterances that do not come back within owedWait (their
// input went to the DLQ) are left out.
func (s *publishStage) awaitUtterances(ctx context.Context, callID string, deps []*stages.Txn) error {
	start := time.Now()
	warned := false
	for {
		cw := s.calls.wait(callID)
		var deadline <-chan time.Time
		switch {
		case cw.inFlight > 0:
		case cw.owed == 0:
			return nil
		case failedDep(deps):
			s.log.Info("call summary given up until its input comes back: an utterance of the call failed and is cut again from the redelivered audio",
				"call_id", callID, "owed", cw.owed)
			return fmt.Errorf("summary of call %s: waiting for %d failed utterances: %w", callID, cw.owed, stages.ErrAbandoned)
		case time.Since(cw.lastFail) >= s.owedWait:
			s.log.Warn("call summary goes out without utterances that failed and did not come back", "call_id", callID,
				"missing", cw.owed, "waited", s.owedWait)
			return nil
		default:
			// Checked again shortly: the runner records a failure on the inputs just after it
			// counts the utterance as owed, and recording it wakes nobody.
			deadline = time.After(min(s.owedWait-time.Since(cw.lastFail), owedRecheck))
		}
		if !warned && time.Since(start) >= SummaryWait {
			warned = true
			s.log.Warn("call summary still waiting for utterances in the pipeline", "call_id", callID, "waited", SummaryWait,
				"in_flight", cw.inFlight, "owed", cw.owed)
		}
		warn := time.After(max(0, SummaryWait-time.Since(start)))
		if warned {
			warn = nil
		}
		select {
		case <-cw.changed:
		case <-deadline:
		case <-warn:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// owedRecheck is how often a summary waiting for owed utterances checks whether its own inputs
// failed meanwhile.
const owedRecheck = 250 * time.Millisecond

// failedDep reports whether one of the inputs has failed already.
func failedDep(deps []*stages.Txn) bool {
	for _, d := range deps {
		if d.Failed() != nil {
			return true
		}
	}
	return false
}

// Summarize builds a call summary from its results (deduplicated by utterance id).
func Summarize(callID string, results []wire.Result) *wire.Summary {
	sum := &wire.Summary{SchemaVersion: wire.SchemaVersion, Kind: "summary", CallID: callID,
		Timeline: []wire.TimelineEntry{}, Counts: map[string]int{}, MeanScores: map[string]map[string]float64{},
		Languages: map[string]int{}}
	seen := map[string]bool{}
	var uniq []wire.Result
	for _, r := range results {
		if !seen[r.UtteranceID] {
			seen[r.UtteranceID] = true
			uniq = append(uniq, r)
		}
	}
	sort.Slice(uniq, func(i, j int) bool {
		if uniq[i].StartMS != uniq[j].StartMS {
			return uniq[i].StartMS < uniq[j].StartMS
		}
		return uniq[i].Channel < uniq[j].Channel
	})
	perRole := map[string]int{}
	for _, r := range uniq {
		sum.Utterances++
		sum.DurationMS = max(sum.DurationMS, r.EndMS)
		sum.Timeline = append(sum.Timeline, wire.TimelineEntry{UtteranceID: r.UtteranceID, StartMS: r.StartMS, EndMS: r.EndMS,
			Role: r.Role, Label: r.Label, Language: r.Language, LoudnessDBFS: r.LoudnessDBFS})
		if r.Language != "" {
			sum.Languages[r.Language]++
		}
		if r.Label == "" {
			sum.Counts[wire.LabelUnsupported]++
			continue
		}
		sum.Counts[r.Label]++
		if r.Scores == nil {
			continue // no probabilities (scores_available: false): not in the role's mean
		}
		ms := sum.MeanScores[r.Role]
		if ms == nil {
			ms = map[string]float64{}
			for _, l := range wire.Labels {
				ms[l] = 0
			}
			sum.MeanScores[r.Role] = ms
		}
		for _, l := range wire.Labels {
			ms[l] += r.Scores[l]
		}
		perRole[r.Role]++
	}
	for role, ms := range sum.MeanScores {
		for l := range ms {
			ms[l] /= float64(perRole[role])
		}
	}
	sum.Metrics = conversation(uniq, sum.DurationMS)
	return sum
}
