package config

import (
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Default file locations, relative to the installation (see [Load] for how relative paths are
// found). The bundled models are small demo models trained by the project (models/*/README.md).
const (
	DefaultASRModel       = "models/asr/ggml-sentio-small.bin"
	DefaultVADModel       = "models/vad/silero-v6.2.0-ggml.bin"
	DefaultReasoningModel = "models/reasoning"
	DefaultORTLibrary     = "libonnxruntime.so.1.23"
)

// Defaults returns the configuration used when nothing is configured: an embedded NATS server
// with JetStream on 127.0.0.1:4222, the bundled models, the five languages, text logs on a
// terminal and JSON otherwise, health and metrics on 127.0.0.1:9464. The state directory and the
// VAD model depend on the machine and are filled in by [Load] (see [dynamicDefaults]).
func Defaults() Config {
	langs := []string{"vi", "en", "zh", "de", "fr"}
	return Config{
		NATS: NATS{
			Embedded:       true,
			Listen:         "127.0.0.1:4222",
			EmbeddedAuth:   true,
			Replicas:       1,
			AudioStream:    "SENTIO_AUDIO",
			AudioSubject:   "sentio.audio",
			ResultStream:   "SENTIO_RESULTS",
			ResultSubject:  "sentio.results",
			DLQStream:      "SENTIO_DLQ",
			DLQSubject:     "sentio.dlq",
			EventSubject:   "sentio.events",
			Consumer:       "sentio",
			MaxDeliver:     5,
			AckWait:        30 * time.Second,
			MaxAckPending:  16384,
			MaxAge:         72 * time.Hour,
			AudioMaxAge:    24 * time.Hour,
			DLQMaxAge:      72 * time.Hour,
			MaxBytes:       -1,
			MaxObjectBytes: 256 << 20,
			DedupeWindow:   30 * time.Minute,
		},
		Pipeline: Pipeline{
			SegmentWorkers: 1,
			// Two workers of one thread each: on 2 cores they transcribe 1.4-1.9 times as much
			// audio per second as one worker of two threads, and take three real-time calls
			// within p99 2 s instead of one (README: Performance, sizing).
			ASRWorkers:    2,
			ReasonWorkers: 1,
			QueueSize:     64,
			MaxUtterance:  20 * time.Second,
			IdleFlush:     10 * time.Second,
			MaxCallChunks: 4096,
			MaxCalls:      10000,
		},
		ASR: ASR{
			Model:     DefaultASRModel,
			Threads:   1,
			Languages: append([]string(nil), langs...),
			UseGPU:    true,
			// Generous: an utterance is at most 30 s of audio, which a slow CPU transcribes in
			// well under a minute.
			CallTimeout:   5 * time.Minute,
			WordTimings:   true,
			GuessLanguage: true,
		},
		LangID: LangID{
			Languages:     append([]string(nil), langs...),
			MinChars:      20,
			WhisperWeight: 0.5,
		},
		Reasoning: Reasoning{
			ModelDir:   DefaultReasoningModel,
			Provider:   "auto",
			Threads:    1,
			MaxBatch:   16,
			MaxWait:    5 * time.Millisecond,
			ORTLibrary: DefaultORTLibrary,
			// Generous: one batch of texts takes milliseconds to a few seconds.
			CallTimeout:   time.Minute,
			OcclusionTopK: 5,
			LLM: LLM{
				Timeout:         10 * time.Second,
				MaxConcurrent:   4,
				Retries:         2,
				RetryBackoff:    200 * time.Millisecond,
				BreakerFailures: 5,
				BreakerOpen:     30 * time.Second,
				FallbackDir:     DefaultReasoningModel,
				FewShot:         3,
				ContextChars:    600,
				TopLogprobs:     20,
				MaxTokens:       512,
			},
		},
		// Results leave the boundary of the audio (dashboards, subscribers, the results stream
		// kept for nats.max_age) and sentiment needs none of the identifiers: redact by default.
		Redact: Redact{
			Mode:            "redact",
			Types:           append([]string(nil), EntityTypes...),
			ReasonOn:        "original",
			MinSpokenDigits: 3,
		},
		Log:             Log{Level: "info", Format: "auto"},
		HTTP:            HTTP{Listen: "127.0.0.1:9464"},
		ShutdownTimeout: 30 * time.Second,
	}
}

// dynamicDefaults documents the defaults that depend on the machine; [Load] computes them.
var dynamicDefaults = map[string]string{
	"state_dir":     "`$STATE_DIRECTORY` (set by systemd's StateDirectory=), else `/var/lib/sentio` when it can be created and written, else `$XDG_STATE_HOME/sentio` (`~/.local/state/sentio`)",
	"asr.vad_model": "`" + DefaultVADModel + "` when that file exists (install it with `sentio models fetch`), else empty",
}

// defaultStateDir picks the state directory operators expect: systemd's, the system one, or the
// user's.
func defaultStateDir() string {
	if d := os.Getenv("STATE_DIRECTORY"); d != "" {
		// systemd may pass several, separated by colons; the first is sentio's.
		return filepath.SplitList(d)[0]
	}
	const sys = "/var/lib/sentio"
	if writableDir(sys) {
		return sys
	}
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return filepath.Join(os.TempDir(), "sentio-state")
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "sentio")
}

// writableDir reports whether dir exists and is writable, or could be created (its parent is
// writable).
func writableDir(dir string) bool {
	if fi, err := os.Stat(dir); err == nil {
		return fi.IsDir() && unix.Access(dir, unix.W_OK|unix.X_OK) == nil
	}
	return unix.Access(filepath.Dir(dir), unix.W_OK|unix.X_OK) == nil
}
