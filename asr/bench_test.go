//go:build whisper

package asr

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
)

var timingRe = regexp.MustCompile(`whisper_print_timings:\s+(load|total) time =\s+([0-9.]+) ms`)

// cliRun runs whisper-cli once over files (one process: one model load, one cold start) and
// returns its processing time: whisper.cpp's own total time minus its model load time. Each file
// is its own whisper_full call, which starts without earlier text (no_context, as in the Go
// stage), and keeps the text of one window as context for the next within the file, as the Go
// stage does (cliArgs).
func cliRun(b *testing.B, cfg config.ASR, files []string) time.Duration {
	args := cliArgs(cfg, "auto")
	for _, f := range files {
		args = append(args, "-f", f)
	}
	out, err := exec.Command("whisper-cli", args...).CombinedOutput()
	if err != nil {
		b.Fatalf("whisper-cli: %v\n%s", err, out)
	}
	var load, total float64
	for _, m := range timingRe.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		if m[1] == "load" {
			load = v
		} else {
			total = v
		}
	}
	if total == 0 {
		b.Fatalf("no timings in whisper-cli's output:\n%s", out)
	}
	return time.Duration((total - load) * float64(time.Millisecond))
}

// BenchmarkGoVsWhisperCLI measures, in one run, the Go stage's time per second of audio next to
// whisper-cli's on the same files, model, threads and settings (greedy, language detection, no
// temperature fallback). Sub-benchmarks: bundled, the bundled model on espeak-ng sentences in five
// languages; tiny-random and base-random, models of whisper tiny's and base's dimensions with
// random weights (randomModel: speed only, their text is garbage of maximal length), on jfk.wav
// three times (33 s, two windows with text context between them, as in whisper-cli).
//
// whisper.cpp's first whisper_full in a process is much slower than the following ones (the Go
// engine warms each worker up in Open), and whisper-cli is a fresh process: comparing one cold
// whisper-cli run with the warm engine would flatter the Go stage. So each iteration runs
// whisper-cli twice, over the files once and over them three times in one process, and takes the
// difference: (T3 - T1) / 2 is whisper-cli's steady-state time for the files, without its model
// load and cold start. The Go engine transcribes the files once per iteration (ns/op).
// Reported: go-ms/audio-s, cli-ms/audio-s (steady state), cli-cold-ms/audio-s (the single cold
// run, load excluded), go/cli, the steady-state ratio (1.00 means equal), and go/cli-best, the
// ratio of each side's fastest batch (whisper-cli: the cold run or a third of the triple run),
// which other load on a shared machine disturbs least.
func BenchmarkGoVsWhisperCLI(b *testing.B) {
	b.Run("bundled", func(b *testing.B) {
		var files []string
		for _, c := range speechClips(b) {
			files = append(files, c.path)
		}
		benchGoVsCLI(b, testConfig(b), files)
	})
	for _, d := range []officialDims{dimsTiny, dimsBase} {
		b.Run(d.name+"-random", func(b *testing.B) {
			cfg := testConfig(b)
			cfg.Model = randomModel(b, d, false)
			benchGoVsCLI(b, cfg, []string{longFile(b)})
		})
	}
}

func benchGoVsCLI(b *testing.B, cfg config.ASR, files []string) {
	cfg.Languages = Languages() // no restriction, so both detect the same language
	cfg.WordTimings = false     // whisper-cli computes no word timings (BenchmarkWordTimings)
	e := open(b, cfg, 1)
	pcms := make([][]float32, len(files))
	var audioS float64
	for i, f := range files {
		pcms[i] = testenv.LoadWAV(b, f)
		audioS += float64(len(pcms[i])) / SampleRate
	}
	three := append(append(append([]string(nil), files...), files...), files...)
	var goT, cliT, cliCold time.Duration
	goMin, cliMin := time.Duration(1<<62), time.Duration(1<<62)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		for _, pcm := range pcms {
			if _, err := e.Transcribe(context.Background(), pcm); err != nil {
				b.Fatal(err)
			}
		}
		g := time.Since(start)
		goT += g
		b.StopTimer()
		t1 := cliRun(b, cfg, files)
		t3 := cliRun(b, cfg, three)
		cliCold += t1
		cliT += (t3 - t1) / 2
		goMin, cliMin = min(goMin, g), min(cliMin, t1, t3/3)
		b.StartTimer()
	}
	per := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) / audioS }
	b.ReportMetric(per(goT), "go-ms/audio-s")
	b.ReportMetric(per(cliT), "cli-ms/audio-s")
	b.ReportMetric(per(cliCold), "cli-cold-ms/audio-s")
	b.ReportMetric(per(goT)/per(cliT), "go/cli")
	// On a shared machine the fastest batch of each is the steadier comparison.
	b.ReportMetric(float64(goMin)/float64(cliMin), "go/cli-best")
}

// BenchmarkTranscribe is the Go stage alone on jfk.wav (11 s) with the project model.
func BenchmarkTranscribe(b *testing.B) {
	cfg := testConfig(b)
	pcm := testenv.LoadWAV(b, testenv.Shared(b, "data/speech/jfk.wav"))
	e := open(b, cfg, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.TranscribeLanguage(context.Background(), pcm, "en"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/(float64(len(pcm))/SampleRate), "ms/audio-s")
}
