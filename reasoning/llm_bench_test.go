package reasoning

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
)

// BenchmarkLLMPredict measures one utterance through the "llm" kind against the real llama-server
// serving the tiny random model (2 layers, 64 wide: the cost is llama-server's and the prompt's,
// not a real model's): serial is the latency of one utterance at a time, parallel4 the
// throughput with 4 requests in flight (max_concurrent 4, 4 server slots). Each op is one
// utterance; utt/s is reported.
func BenchmarkLLMPredict(b *testing.B) {
	srv := testenv.StartLLMServer(b, 4, "--api-key", testAPIKey, "-t", "2")
	open := func(b *testing.B) *llmModel {
		c := config.Defaults().Reasoning
		c.LLM.URL, c.LLM.Model, c.LLM.APIKey, c.LLM.FallbackDir = srv.URL, "tiny", testAPIKey, ""
		c.LLM.MaxConcurrent = 4
		c.LLM.Timeout = time.Minute // a loaded shared machine, not the endpoint, is slow here
		m, err := Open(testenv.RepoRoot(b)+"/models/llm", Options{Config: c, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { m.Close() })
		return m.(*llmModel)
	}
	report := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "utt/s")
	}
	b.Run("serial", func(b *testing.B) {
		m := open(b)
		i := 0
		start := time.Now()
		for b.Loop() {
			if _, err := m.Predict(context.Background(), samples[i%len(samples)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		report(b, start)
	})
	b.Run("parallel4", func(b *testing.B) {
		m := open(b)
		var i atomic.Int64
		b.SetParallelism(4) // 4 × GOMAXPROCS goroutines; max_concurrent keeps 4 in flight
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := m.Predict(context.Background(), samples[int(i.Add(1))%len(samples)]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		report(b, start)
	})
}
