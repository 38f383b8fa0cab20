package daemon

import (
	"runtime"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sentio-health/sentio/internal/metricsns"
)

// namespace is the namespace of every sentio metric, metricsns.Namespace.
const namespace = metricsns.Namespace

// natsSubsystem is the subsystem of the NATS connection's metrics: sentio_nats_*.
const natsSubsystem = "nats"

// newRegistry returns the registry served on /metrics, with the Go runtime and process
// collectors and sentio_build_info.
func newRegistry(opts Options) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace:   namespace,
		Name:        "build_info",
		Help:        "A metric with a constant value 1, labelled with the version and commit sentio was built from and the Go version.",
		ConstLabels: prometheus.Labels{"version": opts.Version, "commit": opts.Commit, "goversion": runtime.Version()},
	})
	build.Set(1)
	reg.MustRegister(build)
	return reg
}

// registerLifecycle adds the daemon's own metrics: readiness, per-component readiness and the
// NATS connection's state and traffic.
func registerLifecycle(reg prometheus.Registerer, d *state) {
	stats := func() nats.Statistics {
		if nc := d.nc.Load(); nc != nil {
			return nc.Stats()
		}
		return nats.Statistics{}
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Name: "ready",
			Help: "1 when sentio is ready for work (NATS connected, every component ready, not draining), else 0.",
		}, func() float64 { return b2f(d.readiness().ok) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Name: "draining",
			Help: "1 while sentio drains in-flight work before stopping, else 0.",
		}, func() float64 { return b2f(d.draining.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: natsSubsystem, Name: "connected",
			Help: "1 while the NATS connection is up, else 0.",
		}, func() float64 { nc := d.nc.Load(); return b2f(nc != nil && nc.IsConnected()) }),
		&componentReadyCollector{d: d, desc: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "component", "ready"),
			"1 when the component reports ready, else 0.", []string{"component"}, nil)},
	)
	for _, c := range []struct {
		name, help string
		value      func(nats.Statistics) uint64
	}{
		{"reconnects_total", "Reconnections of the NATS connection.", func(s nats.Statistics) uint64 { return s.Reconnects }},
		{"received_messages_total", "Messages received on the NATS connection.", func(s nats.Statistics) uint64 { return s.InMsgs }},
		{"sent_messages_total", "Messages sent on the NATS connection.", func(s nats.Statistics) uint64 { return s.OutMsgs }},
		{"received_bytes_total", "Payload bytes received on the NATS connection.", func(s nats.Statistics) uint64 { return s.InBytes }},
		{"sent_bytes_total", "Payload bytes sent on the NATS connection.", func(s nats.Statistics) uint64 { return s.OutBytes }},
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: natsSubsystem, Name: c.name, Help: c.help,
		}, func() float64 { return float64(c.value(stats())) }))
	}
}

// componentReadyCollector reports sentio_component_ready{component} at scrape time.
type componentReadyCollector struct {
	d    *state
	desc *prometheus.Desc
}

func (c *componentReadyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *componentReadyCollector) Collect(ch chan<- prometheus.Metric) {
	for _, comp := range c.d.started() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, b2f(comp.Ready() == nil), comp.Name())
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
