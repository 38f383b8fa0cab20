package pipeline

import (
	"bytes"
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/sentio-health/sentio/daemon"
	"github.com/sentio-health/sentio/internal/testenv"
)

// One info line per utterance with call id, utterance id, language, label and latency, without
// the transcript unless log.include_text; per-stage metrics that promtool accepts.
func TestLogLinePerUtteranceAndMetrics(t *testing.T) {
	for _, include := range []bool{false, true} {
		srv := testenv.RunJetStream(t)
		cfg := testConfig()
		cfg.Log.IncludeText = include
		var logs testenv.LogBuffer
		nc, js := connect(t, srv.ClientURL())
		comp := NewWithParts(cfg, testParts(t, &fakeASR{}))
		reg := prometheus.NewRegistry()
		env := &daemon.Env{Config: cfg, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), NATS: nc, JetStream: js, Metrics: reg}
		if err := comp.Start(context.Background(), env); err != nil {
			t.Fatal(err)
		}
		r := &rig{t: t, srv: srv, nc: nc, js: js, cfg: cfg}
		r.clip("logged", wav(tone(4, [2]float64{0.5, 1.2}, [2]float64{2.5, 3.2}), 16000), nil)
		res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results.logged", 2, 10*time.Second))
		r.settled(5 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := comp.Drain(ctx); err != nil {
			t.Errorf("drain: %v", err)
		}
		cancel()

		var lines []map[string]any
		for _, m := range logs.Records(t) {
			if m["msg"] == "utterance" {
				lines = append(lines, m)
			}
		}
		if len(lines) != len(res) {
			t.Fatalf("%d utterance log lines for %d results", len(lines), len(res))
		}
		for _, m := range lines {
			for _, k := range []string{"call_id", "utterance_id", "language", "label", "latency_ms"} {
				if _, ok := m[k]; !ok {
					t.Fatalf("utterance log line without %s: %v", k, m)
				}
			}
			if _, has := m["transcript"]; has != include {
				t.Fatalf("include_text=%v but the log line has transcript=%v: %v", include, has, m)
			}
		}
		if include {
			continue
		}
		if strings.Contains(logs.String(), "feel much better") {
			t.Fatal("the transcript leaked into the logs with include_text off")
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var text bytes.Buffer
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&text, mf); err != nil {
				t.Fatal(err)
			}
		}
		for _, stage := range []string{StageSegment, StageASR, StageLangID, StageReason, StagePublish} {
			for _, name := range []string{"sentio_pipeline_stage_processed_total", "sentio_pipeline_stage_duration_seconds_count",
				"sentio_pipeline_stage_queue_depth", "sentio_pipeline_stage_in_flight"} {
				if !strings.Contains(text.String(), name+`{stage="`+stage+`"}`) {
					t.Errorf("metric %s{stage=%q} missing", name, stage)
				}
			}
		}
		if promtool, err := exec.LookPath("promtool"); err == nil {
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = &text
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("promtool check metrics: %v\n%s", err, out)
			}
		} else {
			t.Log("promtool not found; metric names checked by hand only")
		}
	}
}

// Work longer than the ack wait is kept alive with InProgress: no redelivery, one result.
func TestLongWorkIsNotRedelivered(t *testing.T) {
	f := &fakeASR{gate: make(chan struct{})}
	r := newRig(t, f, nil)
	r.clip("slow", wav(tone(1.5, [2]float64{0.2, 1.0}), 16000), nil)
	within(t, 10*time.Second, "the clip to reach the ASR", func() bool { return f.calls.Load() == 1 })
	// Work held past three ack waits (the time passing is the condition under test): the
	// server has not redelivered the input, which is still unacked.
	time.Sleep(3 * r.cfg.NATS.AckWait)
	if tt := r.totals(); tt.redelivered != 0 || tt.ackPending != 1 {
		t.Fatalf("after 3 ack waits of work: %+v; want the input unacked and never redelivered", tt)
	}
	close(f.gate)
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.slow", 1, 10*time.Second))
	r.settled(5 * time.Second)
	if len(res) != 1 || f.calls.Load() != 1 {
		t.Fatalf("%d results, %d transcriptions; want 1 and 1 (no redelivery)", len(res), f.calls.Load())
	}
}
