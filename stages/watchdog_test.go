package stages

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sentio-health/sentio/internal/testenv"
)

// metricValue reads a counter or gauge.
func metricValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// A call past its deadline marks its worker hung until it returns: one error line names the
// stage, the worker and how long; the gauge counts it.
func TestWatchdogMarksACallPastItsDeadline(t *testing.T) {
	var logs testenv.LogBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	m := NewMetrics(prometheus.NewRegistry())
	wd := NewWatchdog(log, m)
	if wd.Begin("asr", 0, 0)(); wd.Hung() != nil { // no deadline
		t.Fatal("a call without a deadline counts as hung")
	}
	wd.Begin("reason", 0, time.Hour)() // finishes in time

	t0 := time.Now()
	end := wd.Begin("asr", 1, 100*time.Millisecond)
	if err := wd.Hung(); err != nil {
		t.Fatalf("hung at once: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for wd.Hung() == nil {
		if time.Now().After(deadline) {
			t.Fatal("a call blocked past its deadline never marked its worker hung")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if took := time.Since(t0); took < 100*time.Millisecond {
		t.Fatalf("hung after %v, before the 100ms deadline", took)
	}
	if err := wd.Hung(); !strings.Contains(err.Error(), "asr worker 1") {
		t.Fatalf("Hung() = %v; want it to name the stage and worker", err)
	}
	var line map[string]any
	for deadline := time.Now().Add(5 * time.Second); line == nil && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		for _, r := range logs.Records(t) {
			if r["level"] == "ERROR" {
				line = r
			}
		}
	}
	if line == nil || line["stage"] != "asr" || fmt.Sprint(line["worker"]) != "1" || line["running"] == nil || line["deadline"] != "100ms" {
		t.Fatalf("hang log line %v; want stage, worker, running time and deadline", line)
	}
	if g := metricValue(t, m.hung.WithLabelValues("asr")); g != 1 {
		t.Fatalf("sentio_pipeline_stage_hung_calls{stage=asr} = %v; want 1", g)
	}
	end()
	if err := wd.Hung(); err != nil {
		t.Fatalf("still hung after the call returned: %v", err)
	}
	if g := metricValue(t, m.hung.WithLabelValues("asr")); g != 0 {
		t.Fatalf("gauge %v after the call returned", g)
	}
	errors := 0
	for _, r := range logs.Records(t) {
		if r["level"] == "ERROR" {
			errors++
		}
	}
	if errors != 1 {
		t.Fatalf("%d error lines for one hang; want 1", errors)
	}
}
