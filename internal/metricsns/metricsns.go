// Package metricsns holds the namespace of sentio's Prometheus metrics. It is a leaf package so
// that every package defining metrics (daemon, pipeline, stages, bus, reasoning) can import it,
// and the namespace is written once.
package metricsns

// Namespace prefixes every sentio metric: sentio_<subsystem>_<name>_<unit>.
const Namespace = "sentio"
