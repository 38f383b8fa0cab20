package stages

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/internal/metricsns"
)

// The namespace and subsystem of the metrics below: sentio_pipeline_*.
const (
	namespace = metricsns.Namespace
	subsystem = "pipeline"
)

// Metrics are the pipeline's Prometheus collectors, labelled by stage. A nil *Metrics records
// nothing.
type Metrics struct {
	reg        prometheus.Registerer
	processed  *prometheus.CounterVec
	failed     *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	inFlight   *prometheus.GaugeVec
	inputs     prometheus.Gauge
	settledTot *prometheus.CounterVec
	panics     *prometheus.CounterVec
	hung       *prometheus.GaugeVec
}

// NewMetrics creates and registers the collectors on reg:
//
//	sentio_pipeline_stage_processed_total{stage}     items a stage finished without error
//	sentio_pipeline_stage_failed_total{stage}        items a stage failed
//	sentio_pipeline_stage_duration_seconds{stage}    time a stage spent on an item
//	sentio_pipeline_stage_queue_depth{stage}         items waiting in front of a stage
//	sentio_pipeline_stage_in_flight{stage}           items a stage is working on
//	sentio_pipeline_inputs_in_flight                 input messages not yet settled
//	sentio_pipeline_inputs_settled_total{outcome}    inputs acked, naked, rejected, abandoned or dropped
//	sentio_pipeline_panics_total{stage}              panics recovered in a stage (Process, Tick, Close)
//	sentio_pipeline_stage_hung_calls{stage}          model calls running past their deadline now
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reg: reg,
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem,
			Name: "stage_processed_total", Help: "Items a pipeline stage finished without error."}, []string{"stage"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem,
			Name: "stage_failed_total", Help: "Items a pipeline stage failed (after in-place retries)."}, []string{"stage"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Subsystem: subsystem,
			Name: "stage_duration_seconds", Help: "Time a pipeline stage spent on one item.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14)}, []string{"stage"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Subsystem: subsystem,
			Name: "stage_in_flight", Help: "Items a pipeline stage is working on."}, []string{"stage"}),
		inputs: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Subsystem: subsystem,
			Name: "inputs_in_flight", Help: "Input messages received and not yet acked, naked or rejected."}),
		settledTot: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem,
			Name: "inputs_settled_total", Help: "Input messages settled, by outcome (acked, naked, rejected, abandoned, dropped: a duplicate delivery of a message in progress)."}, []string{"outcome"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem,
			Name: "panics_total", Help: "Panics recovered in a pipeline stage; in Process, the item's inputs go to the DLQ as internal_error."}, []string{"stage"}),
		hung: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Subsystem: subsystem,
			Name: "stage_hung_calls", Help: "Model calls (whisper.cpp, ONNX Runtime) running past their deadline: the daemon is not ready and stops feeding the systemd watchdog."}, []string{"stage"}),
	}
	for o := Acked; o <= Dropped; o++ {
		m.settledTot.WithLabelValues(o.String())
	}
	if reg != nil {
		reg.MustRegister(m.processed, m.failed, m.duration, m.inFlight, m.inputs, m.settledTot, m.panics, m.hung)
	}
	return m
}

func (m *Metrics) registerQueue(stage string, depth func() float64) {
	if m == nil || m.reg == nil {
		return
	}
	// Every stage's series exist from the start, at 0, so that a rule on their increase sees
	// the first failure, panic or hung call.
	m.processed.WithLabelValues(stage)
	m.failed.WithLabelValues(stage)
	m.duration.WithLabelValues(stage)
	m.inFlight.WithLabelValues(stage)
	m.panics.WithLabelValues(stage)
	m.hung.WithLabelValues(stage)
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Subsystem: subsystem,
		Name: "stage_queue_depth", Help: "Items waiting in the queue in front of a pipeline stage.",
		ConstLabels: prometheus.Labels{"stage": stage}}, depth))
}

func (m *Metrics) begin(stage string) {
	if m == nil {
		return
	}
	m.inFlight.WithLabelValues(stage).Inc()
}

func (m *Metrics) end(stage string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.inFlight.WithLabelValues(stage).Dec()
	m.duration.WithLabelValues(stage).Observe(d.Seconds())
	if err != nil {
		m.failed.WithLabelValues(stage).Inc()
	} else {
		m.processed.WithLabelValues(stage).Inc()
	}
}

func (m *Metrics) settled(o Outcome) {
	if m == nil {
		return
	}
	m.settledTot.WithLabelValues(o.String()).Inc()
}

func (m *Metrics) inputsInFlight(n int) {
	if m == nil {
		return
	}
	m.inputs.Set(float64(n))
}

func (m *Metrics) panicked(stage string) {
	if m == nil {
		return
	}
	m.panics.WithLabelValues(stage).Inc()
}

func (m *Metrics) hungCalls(stage string, d float64) {
	if m == nil {
		return
	}
	m.hung.WithLabelValues(stage).Add(d)
}
