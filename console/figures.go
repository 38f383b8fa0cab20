package console

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Status is the health, model and throughput figures the page shows.
type Status struct {
	// Time is when the figures were taken.
	Time time.Time `json:"time"`
	// Version is the daemon's version.
	Version string `json:"version,omitempty"`
	// Ready and Checks are what /readyz says: every check, one line each.
	Ready  bool     `json:"ready"`
	Checks []string `json:"checks,omitempty"`
	// Models is the models map of the latest result (model of each stage and its version).
	Models map[string]string `json:"models,omitempty"`
	// ResultsPerMinute counts the results stored in the results stream in the last minute, by
	// every instance.
	ResultsPerMinute int `json:"results_per_minute"`
	// Calls, CallsInProgress and DLQ count the calls and rejects in the console's window.
	Calls           int `json:"calls"`
	CallsInProgress int `json:"calls_in_progress"`
	DLQ             int `json:"dlq"`
	// Metrics are figures of this instance from its Prometheus registry.
	Metrics Metrics `json:"metrics"`
}

// Metrics are the figures of this instance the page shows, from its Prometheus registry; a
// figure whose metric is not registered is zero.
type Metrics struct {
	// ResultsPublished is sentio_pipeline_results_published_total, by label.
	ResultsPublished map[string]float64 `json:"results_published,omitempty"`
	// InputsInFlight is sentio_pipeline_inputs_in_flight.
	InputsInFlight float64 `json:"inputs_in_flight"`
	// LatencyP50 and LatencyP95 are quantiles, in seconds, of
	// sentio_pipeline_utterance_latency_seconds (interpolated in its buckets; NaN-free: 0 without
	// observations).
	LatencyP50 float64 `json:"latency_p50_seconds"`
	LatencyP95 float64 `json:"latency_p95_seconds"`
	// QueueDepth is sentio_pipeline_stage_queue_depth by stage.
	QueueDepth map[string]float64 `json:"queue_depth,omitempty"`
	// DLQPublishFailures is sentio_dlq_publish_failures_total.
	DLQPublishFailures float64 `json:"dlq_publish_failures"`
	// ResidentBytes is process_resident_memory_bytes; Goroutines is go_goroutines.
	ResidentBytes float64 `json:"resident_bytes"`
	Goroutines    float64 `json:"goroutines"`
}

// gather reads the figures from g; a nil g gives zero figures.
func gather(g prometheus.Gatherer) Metrics {
	var m Metrics
	if g == nil {
		return m
	}
	fams, _ := g.Gather() // a failing collector leaves the others' figures
	for _, f := range fams {
		switch f.GetName() {
		case "sentio_pipeline_results_published_total":
			m.ResultsPublished = byLabel(f, "label")
		case "sentio_pipeline_inputs_in_flight":
			m.InputsInFlight = sum(f)
		case "sentio_pipeline_utterance_latency_seconds":
			if ms := f.GetMetric(); len(ms) > 0 && ms[0].GetHistogram() != nil {
				m.LatencyP50 = quantile(ms[0].GetHistogram(), 0.5)
				m.LatencyP95 = quantile(ms[0].GetHistogram(), 0.95)
			}
		case "sentio_pipeline_stage_queue_depth":
			m.QueueDepth = byLabel(f, "stage")
		case "sentio_dlq_publish_failures_total":
			m.DLQPublishFailures = sum(f)
		case "process_resident_memory_bytes":
			m.ResidentBytes = sum(f)
		case "go_goroutines":
			m.Goroutines = sum(f)
		}
	}
	return m
}

// value is a counter's or gauge's value.
func value(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return m.GetGauge().GetValue()
}

func sum(f *dto.MetricFamily) float64 {
	s := 0.0
	for _, m := range f.GetMetric() {
		s += value(m)
	}
	return s
}

// byLabel sums the family's values per value of the label.
func byLabel(f *dto.MetricFamily, label string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				out[l.GetValue()] += value(m)
			}
		}
	}
	return out
}

// quantile estimates the q-quantile of a histogram as Prometheus's histogram_quantile does:
// linearly within the bucket that holds it (the lowest bucket starts at 0, and a quantile in
// the +Inf bucket is the highest finite bound). It is 0 without observations.
func quantile(h *dto.Histogram, q float64) float64 {
	total := float64(h.GetSampleCount())
	if total == 0 {
		return 0
	}
	bs := slices.Clone(h.GetBucket())
	slices.SortFunc(bs, func(a, b *dto.Bucket) int { return cmp.Compare(a.GetUpperBound(), b.GetUpperBound()) })
	rank := q * total
	lower, below := 0.0, 0.0
	for _, b := range bs {
		upper, cum := b.GetUpperBound(), float64(b.GetCumulativeCount())
		if cum >= rank {
			if math.IsInf(upper, 1) || cum == below {
				return lower
			}
			return lower + (upper-lower)*(rank-below)/(cum-below)
		}
		lower, below = upper, cum
	}
	return lower // the quantile is above every finite bound
}
