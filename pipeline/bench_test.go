package pipeline

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/sentio-health/sentio/wire"
)

// overheads returns the pipeline's own time per utterance (total minus ASR and reasoning compute).
func overheads(res []wire.Result) []float64 {
	var o []float64
	for _, r := range res {
		o = append(o, r.TimingsMS["total"]-r.TimingsMS[StageASR]-r.TimingsMS[StageReason])
	}
	sort.Float64s(o)
	return o
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// BenchmarkPipelineSustained floods the daemon with one-utterance clips (instant test-double ASR
// and reasoning, real NATS, real lingua-go) and reports the sustained utterances per second and
// the pipeline's own overhead per utterance under that load (queueing included).
func BenchmarkPipelineSustained(b *testing.B) {
	r := newRig(b, &fakeASR{}, nil)
	clip := wav(tone(1.2, [2]float64{0.2, 1.0}), 16000)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r.clip(fmt.Sprintf("bench-%d-%d", b.N, i), clip, nil)
	}
	res := results(b, collect(b, r.js, r.cfg.NATS.ResultStream, "sentio.results.*", b.N, 5*time.Minute))
	el := time.Since(start)
	b.StopTimer()
	if len(res) != b.N {
		b.Fatalf("%d results for %d clips", len(res), b.N)
	}
	o := overheads(res)
	b.ReportMetric(float64(b.N)/el.Seconds(), "utterances/s")
	b.ReportMetric(pct(o, 0.5), "overhead-p50-ms")
	b.ReportMetric(pct(o, 0.99), "overhead-p99-ms")
}

// BenchmarkPipelineLatency sends one clip at a time and waits for its result: the pipeline's own
// overhead per utterance without queueing, p50 and p99.
func BenchmarkPipelineLatency(b *testing.B) {
	r := newRig(b, &fakeASR{}, nil)
	clip := wav(tone(1.2, [2]float64{0.2, 1.0}), 16000)
	var all []wire.Result
	var e2e []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("lat-%d-%d", b.N, i)
		t0 := time.Now()
		r.clip(id, clip, nil)
		res := results(b, collect(b, r.js, r.cfg.NATS.ResultStream, "sentio.results."+id, 1, time.Minute))
		e2e = append(e2e, float64(time.Since(t0).Microseconds())/1000)
		all = append(all, res...)
	}
	b.StopTimer()
	o := overheads(all)
	sort.Float64s(e2e)
	b.ReportMetric(pct(o, 0.5), "overhead-p50-ms")
	b.ReportMetric(pct(o, 0.99), "overhead-p99-ms")
	b.ReportMetric(pct(e2e, 0.5), "publish-to-result-p50-ms")
}
