//go:build whisper

package asr

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sentio-health/sentio/internal/testenv"
)

// BenchmarkWorkersThreads measures the ASR stage's throughput for 1-4 workers (each with its own
// whisper_state, pipeline.asr_workers) of 1 or 2 threads each (asr.threads), on the bundled model
// and on random weights of whisper tiny's and base's dimensions (randomModel with eot: the
// decoder ends each window at once, so those measure the encoder and language detection, which
// dominate a real model's cost per utterance, and no decoding of real text).
//
// One iteration transcribes 12 utterances (the five languages' espeak-ng sentences in turn, 2.5-4 s
// each; 12 divides evenly among 1-4 workers),
// handed to as many goroutines as there are workers, language detected, word timings on (the
// defaults). Reported: realtime-x, seconds of audio transcribed per second of wall time (the
// number of real-time calls of continuous speech the stage could keep up with), and
// ms/utterance of wall time.
//
// Run with -benchtime 1x -count 3 on a quiet machine (-count repeats each configuration three
// times in a row) and quote medians; compare configurations of one run only.
func BenchmarkWorkersThreads(b *testing.B) {
	var pcms [][]float32
	var audioS float64
	clips := speechClips(b)
	for i := range 12 {
		pcm := testenv.LoadWAV(b, clips[i%len(clips)].path)
		pcms = append(pcms, pcm)
		audioS += float64(len(pcm)) / SampleRate
	}
	for _, m := range speedModels(b) {
		for _, workers := range []int{1, 2, 3, 4} {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/w%d-t%d", m.name, workers, threads), func(b *testing.B) {
					cfg := testConfig(b)
					cfg.Model = m.path()
					cfg.Threads = threads
					e := open(b, cfg, workers)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						transcribeAll(b, e, pcms, workers)
					}
					wall := b.Elapsed().Seconds() / float64(b.N)
					b.ReportMetric(audioS/wall, "realtime-x")
					b.ReportMetric(wall*1000/float64(len(pcms)), "ms/utterance")
				})
			}
		}
	}
}

// transcribeAll transcribes pcms with n goroutines pulling from one queue, as n pipeline
// workers do.
func transcribeAll(b *testing.B, e *Engine, pcms [][]float32, n int) {
	q := make(chan []float32, len(pcms))
	for _, p := range pcms {
		q <- p
	}
	close(q)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pcm := range q {
				if _, err := e.Transcribe(context.Background(), pcm); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("after %v: %v", time.Since(start), err)
	}
}

// speedModel is a model a speed benchmark runs: its name and how to get its file.
type speedModel struct {
	name string
	path func() string
}

// speedModels are the models the speed benchmarks compare: the bundled one and random weights of
// whisper tiny's and base's dimensions whose decoder ends each window at once (randomModel).
func speedModels(b *testing.B) []speedModel {
	return []speedModel{
		{"bundled", func() string { return projectModel(b) }},
		{"tiny-random", func() string { return randomModel(b, dimsTiny, true) }},
		{"base-random", func() string { return randomModel(b, dimsBase, true) }},
	}
}
