package reasoning

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/internal/metricsns"
)

// llmMetrics are the metrics of the "llm" kind, sentio_reasoning_llm_*. The model is a
// prometheus.Collector of them (the daemon registers it).
type llmMetrics struct {
	requests  prometheus.Counter
	errors    *prometheus.CounterVec
	fallbacks *prometheus.CounterVec
	latency   prometheus.Histogram
	inFlight  prometheus.Gauge
	breaker   prometheus.Gauge
}

func newLLMMetrics() *llmMetrics {
	const ns, sub = metricsns.Namespace, "reasoning_llm"
	m := &llmMetrics{
		requests: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Chat-completion requests sent to the LLM endpoint (each attempt of a retried request counts)."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "errors_total",
			Help: "Failed LLM requests by kind: unreachable, timeout, http_status, malformed."}, []string{"kind"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "fallbacks_total",
			Help: "Utterances reasoned by the fallback model, by why: unreachable, timeout, http_status, malformed, breaker_open."}, []string{"reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "request_duration_seconds",
			Help: "Duration of LLM requests (each attempt), answered or not.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "requests_in_flight",
			Help: "LLM requests in flight (at most reasoning.llm.max_concurrent)."}),
		breaker: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "breaker_state",
			Help: "The LLM endpoint's circuit breaker: 0 closed, 1 half-open, 2 open."}),
	}
	for _, k := range []string{llmUnreachable, llmTimeout, llmStatus, llmMalformed} {
		m.errors.WithLabelValues(k)
		m.fallbacks.WithLabelValues(k)
	}
	m.fallbacks.WithLabelValues(llmBreakerOpen)
	return m
}

func (m *llmMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.errors, m.fallbacks, m.latency, m.inFlight, m.breaker}
}

// Describe describes the LLM metrics.
func (m *llmModel) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.metrics.collectors() {
		c.Describe(ch)
	}
}

// Collect collects the LLM metrics.
func (m *llmModel) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.metrics.collectors() {
		c.Collect(ch)
	}
}
