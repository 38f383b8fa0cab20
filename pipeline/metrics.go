package pipeline

import (
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/internal/metricsns"
	"github.com/sentio-health/sentio/wire"
)

// The namespace and subsystems of the metrics below: sentio_pipeline_* and sentio_segment_*.
const (
	namespace        = metricsns.Namespace
	subsystem        = "pipeline"
	segmentSubsystem = "segment"
)

// metrics are the per-utterance metrics (the per-stage ones are package stages').
type metrics struct {
	results  *prometheus.CounterVec
	latency  prometheus.Histogram
	overhead prometheus.Histogram
	chunks   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem,
			Name: "results_published_total", Help: "Utterance results published, by label (\"unsupported\" for other languages)."}, []string{"label"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Subsystem: subsystem,
			Name: "utterance_latency_seconds", Help: "From the arrival of an utterance's last audio to its result's PubAck.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}),
		overhead: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Subsystem: subsystem,
			Name: "overhead_seconds", Help: "Utterance latency minus its model compute (VAD, ASR, language identification, reasoning): the pipeline's own cost, queues included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		chunks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: segmentSubsystem,
			Name: "chunk_problems_total", Help: "Stream chunks rejected, by reason (sequence_gap, late_chunk, truncated)."}, []string{"reason"}),
	}
	// Every label's series exists from the start, at 0 (a rule on its increase sees the first).
	for _, label := range append(slices.Clone(wire.Labels), wire.LabelUnsupported) {
		m.results.WithLabelValues(label)
	}
	for _, reason := range []string{wire.ReasonSequenceGap, wire.ReasonLateChunk, wire.ReasonTruncated} {
		m.chunks.WithLabelValues(reason)
	}
	if reg != nil {
		reg.MustRegister(m.results, m.latency, m.overhead, m.chunks)
	}
	return m
}

func (m *metrics) published(r *wire.Result, total, _ time.Duration) {
	if m == nil {
		return
	}
	label := r.Label
	if label == "" {
		label = wire.LabelUnsupported
	}
	m.results.WithLabelValues(label).Inc()
	m.latency.Observe(total.Seconds())
	// The segment stage's time is voice activity detection (Silero, whisper.cpp) and langid's is
	// lingua-go: model compute as well.
	compute := (r.TimingsMS[StageSegment] + r.TimingsMS[StageASR] + r.TimingsMS[StageLangID] + r.TimingsMS[StageReason]) / 1000
	m.overhead.Observe(max(0, total.Seconds()-compute))
}

func (m *metrics) chunkProblem(reason string) {
	if m == nil {
		return
	}
	m.chunks.WithLabelValues(reason).Inc()
}
