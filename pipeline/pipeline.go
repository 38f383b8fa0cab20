// Package pipeline is sentio's streaming pipeline: the concrete stages and the order they run in,
// assembled on the machinery of package stages, fed by JetStream (package bus) in the daemon or by
// local files in `sentio analyze`.
//
// The stage list, in one place:
//
//		segment → asr → langid → reason → publish
//
//	  - segment (keyed by call): decodes clips and stream chunks, reorders chunks within a small
//	    window, rejects gaps and late chunks, runs voice activity detection and cuts utterances;
//	  - asr: whisper.cpp transcript and whisper's language probabilities;
//	  - langid: lingua-go fused with whisper; unsupported languages skip reasoning;
//	  - reason: label, scores, rationale and evidence from the ONNX model, or label, scores and
//	    rationale from an LLM endpoint (kind "llm", with the call's previous utterances as context);
//	  - publish: the texts redacted or tagged (redact.mode, package redact), the result JSON with
//	    Nats-Msg-Id = utterance id, waiting for the PubAck; then the events of the alert rules
//	    that match at it (alerts.rules, package alerts); at the end of a stream, the call
//	    summary.
package pipeline

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/stages"
)

// Stage names, as they appear in metrics, timings and DLQ entries.
const (
	StageSegment = "segment"
	StageASR     = "asr"
	StageLangID  = "langid"
	StageReason  = "reason"
	StagePublish = "publish"
)

// Pipeline is the running chain of stages.
type Pipeline struct {
	*stages.Pipeline[*Work]
	Tracker *stages.Tracker
	// Watchdog watches the ASR and reasoning calls: Hung is not nil while one runs past its
	// deadline (asr.call_timeout, reasoning.call_timeout).
	Watchdog *stages.Watchdog
	calls    *callCounter
	metrics  *metrics
	segment  *segmentStage
}

// SetOwnership tells the pipeline which calls this instance still consumes (owns(callID) false:
// the call's partition moved to another instance, which gets what this one holds of it). Without
// it, every call is this instance's.
func (p *Pipeline) SetOwnership(owns func(callID string) bool) { p.segment.owns.Store(&owns) }

// SetCallRegistry gives the segment stage the registry of recordings per call id; call it
// before Start. Without it, a reused call id is not recognised.
func (p *Pipeline) SetCallRegistry(r CallRegistry) { p.segment.registry = r }

// Build assembles the stages in their order. reg may be nil (no metrics).
func Build(cfg *config.Config, parts Parts, sink Sink, dlq Noticer, policy stages.Policy, log *slog.Logger, reg prometheus.Registerer) *Pipeline {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sm := stages.NewMetrics(reg)
	m := newMetrics(reg)
	calls := newCallCounter(GapWait(cfg))
	pc := cfg.Pipeline
	q := max(1, pc.QueueSize)
	// An utterance that fails is not published. Rejected, it never comes back: the call's
	// summary goes out without it. Failed otherwise, its input is Naked and it is cut again
	// from the redelivered audio: the summary waits for it (see callCounter).
	unpublished := func(it stages.Item[*Work], err error) {
		var rej *stages.Rejection
		switch {
		case it.V.Summary:
		case errors.As(err, &rej):
			calls.add(it.V.CallID, -1)
		default:
			calls.failed(it.V.CallID)
		}
	}
	// With redact.reason_on: redacted the model reads the texts redacted.
	parts.Reasoner = newRedaction(cfg.Redact).reasoner(parts.Reasoner)
	seg := newSegmentStage(cfg, parts, dlq, calls, log, m)
	wd := stages.NewWatchdog(log, sm)
	pub := newPublishStage(cfg, parts, sink, calls, log, m)
	pub.alerts = newAlerter(cfg, sink, log, reg)
	p := stages.New[*Work](sm,
		stages.Spec[*Work]{Stage: seg, Workers: max(1, pc.SegmentWorkers), Queue: q, Keyed: true, TickEvery: time.Second},
		stages.Spec[*Work]{Stage: &asrStage{t: parts.ASR, wd: wd, limit: cfg.ASR.CallTimeout, langs: newCallLanguages(max(1, pc.MaxCalls))}, Workers: max(1, pc.ASRWorkers), Queue: q, Retries: 1, OnError: unpublished},
		stages.Spec[*Work]{Stage: &langidStage{id: parts.LangID}, Workers: 1, Queue: q, OnError: unpublished},
		stages.Spec[*Work]{Stage: &reasonStage{r: parts.Reasoner, wd: wd, limit: cfg.Reasoning.CallTimeout,
			history: newCallHistory(cfg.Reasoning.LLM.ContextUtterances, pc.MaxCalls)}, Workers: max(1, pc.ReasonWorkers), Queue: q, Retries: 1, OnError: unpublished},
		stages.Spec[*Work]{Stage: pub, Workers: publishWorkers, Queue: q, OnError: unpublished},
	)
	p.SetLogger(log)
	tr := stages.NewTracker(policy, log, sm)
	return &Pipeline{Pipeline: p, Tracker: tr, Watchdog: wd, calls: calls, metrics: m, segment: seg}
}

// publishWorkers is the number of results awaiting their PubAck at once.
const publishWorkers = 8
