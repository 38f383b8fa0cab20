package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/asr/audio"
)

// maxInputBytes bounds a file read by `sentio transcribe` (decoding holds it in memory).
const maxInputBytes = 2 << 30

// transcribeFlags are the flags of `sentio transcribe`.
type transcribeFlags struct {
	cfg        configFlags
	json       bool
	lang       string
	model      string
	vadModel   string
	noVAD      bool
	format     string
	rate       int
	channels   int
	channel    int
	workers    int
	threads    int
	audioCtx   int
	timestamps bool
	noFallback bool
}

// transcribeLine is one --json output line.
type transcribeLine struct {
	File                  string             `json:"file"`
	Language              string             `json:"language,omitempty"`
	LanguageProbability   float32            `json:"language_probability"`
	LanguageProbabilities map[string]float32 `json:"language_probabilities,omitempty"`
	Text                  string             `json:"text"`
	Segments              []asr.Segment      `json:"segments"`
	DurationMS            int64              `json:"duration_ms"`
	SpeechMS              int64              `json:"speech_ms"`
	ElapsedMS             int64              `json:"elapsed_ms"`
	Error                 string             `json:"error,omitempty"`
}

// newTranscribeCmd builds `sentio transcribe`.
func newTranscribeCmd() *cobra.Command {
	f := &transcribeFlags{}
	cmd := &cobra.Command{
		Use:   "transcribe [flags] FILE...",
		Short: "Transcribe audio files with whisper.cpp and print language, probability and text",
		Long: "Transcribe audio files (WAV: PCM 8/16/24/32-bit, float, mu-law, A-law, any channels; raw s16le,\n" +
			"mulaw or alaw with --format) with the configured whisper.cpp model. Prints, per file, the language,\n" +
			"its probability among asr.languages and the text; --json prints one JSON line per file with the\n" +
			"segments and timings. FILE - reads standard input. Settings come from the configuration (asr.*),\n" +
			"overridden by the flags below.",
		Example: "  sentio transcribe call.wav\n  sentio transcribe --json --lang vi a.wav b.wav\n" +
			"  sentio transcribe --format mulaw --rate 8000 call.ulaw\n  sentio transcribe --model models/whisper/ggml-base.bin jfk.wav",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error { return runTranscribe(cmd, f, files) },
	}
	f.cfg.add(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&f.json, "json", false, "one JSON line per file: file, language, language_probability, text, segments, duration_ms, elapsed_ms")
	fl.StringVarP(&f.lang, "lang", "l", "", "force this language (ISO 639-1, one of asr.languages) instead of detecting it (asr.language)")
	fl.StringVarP(&f.model, "model", "m", "", "whisper.cpp ggml model file (asr.model)")
	fl.StringVar(&f.vadModel, "vad-model", "", "Silero VAD ggml model (asr.vad_model)")
	fl.BoolVar(&f.noVAD, "no-vad", false, "transcribe everything, without voice activity detection")
	fl.StringVar(&f.format, "format", "auto", "input format: auto (WAV), wav, s16le, mulaw, alaw")
	fl.IntVar(&f.rate, "rate", 0, "sample rate of raw input (s16le needs it; mulaw/alaw default 8000)")
	fl.IntVar(&f.channels, "channels", 0, "channel count of raw input (default 1)")
	fl.IntVar(&f.channel, "channel", 0, "transcribe only this channel (from 1); 0 mixes all channels")
	fl.IntVar(&f.workers, "workers", 0, "files transcribed in parallel, each worker with its own whisper state (default pipeline.asr_workers)")
	fl.IntVar(&f.threads, "threads", 0, "threads per worker (asr.threads)")
	fl.IntVar(&f.audioCtx, "audio-ctx", 0, "encoder audio context, 0 for the model's (asr.audio_ctx)")
	fl.BoolVar(&f.timestamps, "no-timestamps", false, "decode without timestamp tokens (asr.no_timestamps)")
	fl.BoolVar(&f.noFallback, "no-fallback", false, "no temperature fallback: greedy at temperature 0 only, like whisper-cli -nf (asr.no_fallback)")
	return cmd
}

func runTranscribe(cmd *cobra.Command, f *transcribeFlags, files []string) error {
	for flag, key := range map[string]string{"lang": "asr.language", "model": "asr.model", "vad-model": "asr.vad_model", "threads": "asr.threads", "audio-ctx": "asr.audio_ctx"} {
		if fl := cmd.Flags().Lookup(flag); fl.Changed {
			f.cfg.set = append(f.cfg.set, key+"="+fl.Value.String())
		}
	}
	if f.noVAD {
		f.cfg.set = append(f.cfg.set, "asr.vad_model=")
	}
	if cmd.Flags().Lookup("no-timestamps").Changed {
		f.cfg.set = append(f.cfg.set, "asr.no_timestamps="+strconv.FormatBool(f.timestamps))
	}
	if cmd.Flags().Lookup("no-fallback").Changed {
		f.cfg.set = append(f.cfg.set, "asr.no_fallback="+strconv.FormatBool(f.noFallback))
	}
	cfg, err := f.cfg.load(cmd)
	if err != nil {
		return err
	}
	format, err := audio.ParseFormat(f.format)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	workers := f.workers
	if workers <= 0 {
		workers = cfg.Pipeline.ASRWorkers
	}
	workers = max(1, min(workers, len(files)))
	if budget := cfg.Pipeline.ASRWorkers * cfg.ASR.Threads; f.workers <= 0 && workers < cfg.Pipeline.ASRWorkers {
		// Fewer files than the daemon's workers: the workers there are share the daemon's
		// threads (pipeline.asr_workers × asr.threads), so one file uses every core the
		// daemon would.
		cfg.ASR.Threads = max(cfg.ASR.Threads, budget/workers)
	}
	eng, err := asr.Open(cfg.ASR, workers)
	if err != nil {
		return err
	}
	defer eng.Close()
	if info := eng.Info(); info.Demo() {
		fmt.Fprintf(cmd.ErrOrStderr(), "sentio: warning: %s: %s\n", info.Path, asr.DemoModelWarning)
	}
	// Where the model runs is said only when it is a GPU: the CPU is what a command line expects.
	if info := eng.Info(); info.OnGPU() {
		fmt.Fprintf(cmd.ErrOrStderr(), "sentio: %s\n", info.DeviceLine())
	}
	decodeOpt := audio.Options{Format: format, SampleRate: f.rate, Channels: f.channels, Channel: f.channel, MaxDuration: cfg.ASR.MaxDuration}

	// Files run on the engine's workers in parallel; results print in the order given.
	results := make([]chan transcribeLine, len(files))
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, file := range files {
		results[i] = make(chan transcribeLine, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] <- transcribeFile(cmd, eng, file, decodeOpt)
		}()
	}
	out := cmd.OutOrStdout()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	failed := 0
	for i := range files {
		line := <-results[i]
		if line.Error != "" {
			failed++
			fmt.Fprintf(cmd.ErrOrStderr(), "sentio: %s: %s\n", line.File, line.Error)
		}
		if f.json {
			if err := enc.Encode(line); err != nil {
				return err
			}
			continue
		}
		if line.Error != "" {
			continue
		}
		lang := line.Language
		if lang == "" {
			lang = "--"
		}
		text := line.Text
		if text == "" && line.SpeechMS == 0 {
			text = "(no speech)"
		}
		fmt.Fprintf(out, "%s\t%s\t%.2f\t%s\n", line.File, lang, line.LanguageProbability, text)
	}
	wg.Wait()
	if err := cmd.Context().Err(); err != nil {
		return err
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d file(s) failed", failed, len(files))}
	}
	return nil
}

// transcribeFile reads, decodes and transcribes one file.
func transcribeFile(cmd *cobra.Command, eng *asr.Engine, file string, opt audio.Options) transcribeLine {
	start := time.Now()
	line := transcribeLine{File: file, Segments: []asr.Segment{}}
	fail := func(err error) transcribeLine {
		line.Error = err.Error()
		line.ElapsedMS = time.Since(start).Milliseconds()
		return line
	}
	data, err := readInput(cmd, file)
	if err != nil {
		return fail(err)
	}
	a, err := audio.Decode(data, opt)
	if err != nil {
		return fail(err)
	}
	res, err := eng.Transcribe(cmd.Context(), a.Samples)
	if err != nil {
		return fail(err)
	}
	line.Language, line.LanguageProbability, line.LanguageProbabilities = res.Language, res.LanguageProb, res.LanguageProbs
	line.Text, line.DurationMS, line.SpeechMS = res.Text, res.DurationMS, res.SpeechMS
	if res.Segments != nil {
		line.Segments = res.Segments
	}
	line.ElapsedMS = time.Since(start).Milliseconds()
	return line
}

// readInput reads a file (or standard input for "-"), refusing more than maxInputBytes.
func readInput(cmd *cobra.Command, file string) ([]byte, error) {
	var r io.Reader
	if file == "-" {
		r = cmd.InOrStdin()
	} else {
		fh, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		if fi, err := fh.Stat(); err == nil && fi.Size() > maxInputBytes {
			return nil, fmt.Errorf("file is %d bytes, more than the %d this command reads", fi.Size(), int64(maxInputBytes))
		}
		r = fh
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInputBytes {
		return nil, errors.New("input is larger than 2 GiB")
	}
	return data, nil
}
