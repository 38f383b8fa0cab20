// Package deploy holds what operators deploy beside the daemon: the Grafana dashboard
// (grafana/sentio.json) and the Prometheus alert rules with their unit tests
// (prometheus/sentio-rules.yml, prometheus/sentio-rules.test.yml). Its tests check that every
// metric they use is one the daemon exposes.
package deploy
