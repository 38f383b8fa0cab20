package pipeline

import (
	"context"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/langid"
	"github.com/sentio-health/sentio/reasoning"
	"github.com/sentio-health/sentio/segment"
	"github.com/sentio-health/sentio/wire"
)

// Transcriber turns 16 kHz mono audio into text (asr.Engine).
type Transcriber interface {
	Transcribe(ctx context.Context, pcm []float32) (asr.Result, error)
}

// PromptTranscriber is a Transcriber that also takes per-call options (asr.Engine): whisper's
// initial prompt, and the call's last language as its guess. Without it a call's Sentio-Prompt
// is not used.
type PromptTranscriber interface {
	TranscribeWith(ctx context.Context, pcm []float32, opt asr.Options) (asr.Result, error)
}

// Reasoner reasons about the sentiment of a text (reasoning.Model).
type Reasoner interface {
	Predict(ctx context.Context, in reasoning.Input) (reasoning.Result, error)
}

// LanguageIdentifier decides the language of a transcript (langid.Identifier).
type LanguageIdentifier interface {
	Identify(text, whisperLang string, whisperProb float64, whisperProbs map[string]float32) langid.Decision
	Outside(whisperTop string, prob float64) (langid.Decision, bool)
}

// Parts are the models the stages use.
type Parts struct {
	ASR      Transcriber
	VAD      segment.VAD
	LangID   LanguageIdentifier
	Reasoner Reasoner
	// Models names each model and its version for results ("asr", "vad", "langid", "reasoning").
	Models map[string]string
}

// Sink is where results go: JetStream in the daemon, memory in `sentio analyze`.
type Sink interface {
	// Publish stores data on subject under msgID and returns once it is durable (PubAck).
	Publish(ctx context.Context, subject, msgID string, data []byte) error
	// CallResults returns every result published so far for a call (for its summary).
	CallResults(ctx context.Context, callID string) ([]wire.Result, error)
}

// Noticer writes a DLQ entry that is not the rejection of one input (a sequence gap: the
// missing chunks cannot be rejected, they never came); its MsgID dedupes it.
type Noticer interface {
	Notice(ctx context.Context, e bus.DLQEntry) error
}

// CallRegistry remembers which recording each stream-mode call id names (*bus.Bus keeps it in a
// KV bucket), so that a second recording published under a used call id is rejected
// (call_id_reused) instead of silently deduplicated away by the results stream.
type CallRegistry interface {
	// ClaimCall records that the stream whose chunk 0 has audio-stream sequence epoch uses
	// callID, and returns the call's record (another recording's when its Epoch differs).
	ClaimCall(ctx context.Context, callID string, epoch uint64) (bus.CallRecord, error)
	// LookupCall returns callID's record; ok is false when it has none.
	LookupCall(ctx context.Context, callID string) (rec bus.CallRecord, ok bool, err error)
	// EndCall records the End chunk of the recording epoch: its audio-stream sequence end and its
	// chunk sequence endSeq.
	EndCall(ctx context.Context, callID string, epoch, end, endSeq uint64) error
	// RecordFlush records that the recording epoch was cut after chunk seq for a reason that
	// depends on timing, so that a replay cuts there too.
	RecordFlush(ctx context.Context, callID string, epoch, seq uint64) error
	// NextStored returns the first message of callID the audio stream stored after stream
	// sequence after; ok is false when it holds none.
	NextStored(ctx context.Context, callID string, after uint64) (c bus.StoredChunk, ok bool, err error)
}

// ObjectFetcher reads large clips from the NATS Object Store (*bus.Bus). Its errors wrapping
// bus.ErrObjectRef, bus.ErrObjectTooLarge or jetstream.ErrObjectNotFound are permanent.
type ObjectFetcher interface {
	Object(ctx context.Context, ref string) ([]byte, error)
}
