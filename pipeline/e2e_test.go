//go:build whisper

package pipeline

import (
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// corpusSentence returns the n-th sentence of the held-out ASR corpus of lang.
func corpusSentence(t testing.TB, lang string, n int) string {
	t.Helper()
	return testenv.CorpusSentence(t, "heldout/"+lang+".txt", n)
}

// speak synthesises text with espeak-ng and returns 16 kHz mono samples.
func speak(t testing.TB, voice, text string) []float32 {
	t.Helper()
	out := filepath.Join(t.TempDir(), "s.wav")
	testenv.Espeak(t, out, text, "-v", voice)
	return testenv.LoadWAV(t, out)
}

// concat joins utterances with a second of silence around each.
func concat(parts ...[]float32) []float32 {
	sil := make([]float32, segment16k(1))
	out := append([]float32(nil), sil...)
	for _, p := range parts {
		out = append(out, p...)
		out = append(out, sil...)
	}
	return out
}

func segment16k(sec float64) int { return int(sec * 16000) }

func realConfig(t testing.TB) *config.Config {
	cfg := testConfig()
	root := testenv.RepoRoot(t)
	cfg.ASR.Model = filepath.Join(root, config.DefaultASRModel)
	cfg.ASR.VADModel = testenv.Shared(t, "data/vad/silero-v6.2.0-ggml.bin")
	cfg.Reasoning.ModelDir = filepath.Join(root, config.DefaultReasoningModel)
	cfg.NATS.AckWait = 30 * time.Second
	return cfg
}

// realRig starts the pipeline with the real models (realConfig) on a real embedded NATS server
// and returns the rig that feeds it; everything stops when the test ends.
func realRig(t testing.TB) *rig {
	t.Helper()
	cfg := realConfig(t)
	parts, closeParts, err := OpenParts(cfg, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeParts() })
	srv := testenv.RunJetStream(t)
	startComponent(t, srv.ClientURL(), cfg, parts, nil)
	nc, js := connect(t, srv.ClientURL())
	return &rig{t: t, srv: srv, nc: nc, js: js, cfg: cfg}
}

// End to end with the real models: espeak-ng speech from the held-out corpus, published as a
// clip and as a stream, gives one result per utterance with every field.
func TestEndToEndRealModels(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end with the real models")
	}
	r := realRig(t)
	cfg, js := r.cfg, r.js

	clip := concat(speak(t, "en", corpusSentence(t, "en", 0)), speak(t, "fr", corpusSentence(t, "fr", 0)))
	r.clip("e2e-clip", wav(clip, 16000), map[string]string{wire.HeaderRole: "patient", wire.HeaderEnd: "true"})
	live := concat(speak(t, "de", corpusSentence(t, "de", 0)), speak(t, "vi", corpusSentence(t, "vi", 0)))
	r.sendChunks(chunks("e2e-stream", live, 200))

	for _, call := range []string{"e2e-clip", "e2e-stream"} {
		res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results."+call, 2, 15*time.Minute))
		if len(res) != 2 {
			t.Fatalf("%s: %d results; want one per utterance (2)", call, len(res))
		}
		for _, x := range res {
			t.Logf("%s %d-%d ms %s %.2f (%s) %s %q", call, x.StartMS, x.EndMS, x.Language, x.LanguageConfidence, x.LanguageSource, x.Label, x.Transcript)
			if x.Transcript == "" || x.Language == "" || x.LanguageSource == wire.SourceNone || x.TimingsMS[StageASR] <= 0 ||
				x.Models["asr"] == "" || x.Models["reasoning"] == "" || x.Models["vad"] == "" || x.EndMS <= x.StartMS {
				t.Errorf("%s: incomplete result %+v", call, x)
			}
			if x.LanguageSupported && (x.Label == "" || x.Rationale == "" || len(x.Scores) != 3 || x.TimingsMS[StageReason] <= 0) {
				t.Errorf("%s: supported language without a full reasoning: %+v", call, x)
			}
		}
		if s := summaryOf(t, r, call); s.Utterances != 2 {
			t.Errorf("%s: summary counts %d utterances", call, s.Utterances)
		}
	}
	r.settled(time.Minute)
}

// BenchmarkPipelineRealModels floods the daemon with espeak-ng utterances (clips) through the real
// models and reports sustained utterances per second, the overhead per utterance (end-to-end
// latency minus ASR and reasoning compute), p50 and p99, and how it divides into further model
// compute (VAD, langid) and sentio's own part.
func BenchmarkPipelineRealModels(b *testing.B) {
	r := realRig(b)
	cfg, js := r.cfg, r.js
	langs := []string{"en", "fr", "de", "vi", "zh"}
	var clips [][]byte
	for i, l := range langs {
		clips = append(clips, wav(concat(speak(b, l, corpusSentence(b, l, i))), 16000))
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r.clip(fmt.Sprintf("bench-real-%d-%d", b.N, i), clips[i%len(clips)], nil)
	}
	res := results(b, collect(b, js, cfg.NATS.ResultStream, "sentio.results.*", b.N, 30*time.Minute))
	el := time.Since(start)
	// The same utterances one at a time: the overhead without waiting behind other utterances.
	var alone []wire.Result
	for i := 0; i < min(b.N, 20); i++ {
		id := fmt.Sprintf("bench-alone-%d-%d", b.N, i)
		r.clip(id, clips[i%len(clips)], nil)
		alone = append(alone, results(b, collect(b, js, cfg.NATS.ResultStream, "sentio.results."+id, 1, 10*time.Minute))...)
	}
	b.StopTimer()
	o, q := overheads(alone), overheads(res)
	b.ReportMetric(float64(len(res))/el.Seconds(), "utterances/s")
	b.ReportMetric(pct(o, 0.5), "overhead-p50-ms")
	b.ReportMetric(pct(o, 0.99), "overhead-p99-ms")
	b.ReportMetric(pct(q, 0.5), "saturated-overhead-p50-ms")
	// Where the one-at-a-time overhead goes. It is mostly model compute too: the segment stage's
	// time is Silero VAD over the clip (whisper.cpp) and langid's is lingua-go. What is left,
	// sentio's own part, is decoding the input, the queues and hand-offs between stages and
	// building the result; reported as its share of the model compute (ASR, VAD, langid,
	// reasoning) of the same utterance.
	var own, share []float64
	stage := map[string][]float64{}
	for _, x := range alone {
		model := 0.0
		for _, k := range []string{StageSegment, StageLangID, StageASR, StageReason} {
			model += x.TimingsMS[k]
			stage[k] = append(stage[k], x.TimingsMS[k])
		}
		own = append(own, x.TimingsMS["total"]-model)
		share = append(share, 100*(x.TimingsMS["total"]-model)/model)
	}
	for k, v := range stage {
		sort.Float64s(v)
		b.ReportMetric(pct(v, 0.5), k+"-p50-ms")
	}
	sort.Float64s(own)
	sort.Float64s(share)
	b.ReportMetric(pct(own, 0.5), "own-p50-ms")
	b.ReportMetric(pct(own, 0.99), "own-p99-ms")
	b.ReportMetric(pct(share, 0.5), "own-%-of-model-p50")
	b.ReportMetric(pct(share, 0.99), "own-%-of-model-p99")
}
