package pipeline

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/langid"
	"github.com/sentio-health/sentio/reasoning"
	"github.com/sentio-health/sentio/segment"
	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// Message is one input message as the segment stage reads it.
type Message struct {
	Subject   string
	Header    nats.Header
	Data      []byte
	Delivered uint64
	// StreamSeq is the message's sequence number in the audio stream (0 when unknown): it tells
	// recordings published under one call id apart.
	StreamSeq uint64
	// Stored is when the audio stream stored the message (zero when unknown): stream time, in
	// which a call's quiet is measured (see streamClock).
	Stored time.Time
	// Fetch reads an Object Store reference (nil when there is no object store).
	Fetch ObjectFetcher
	// Invalid is the rejection of a stream chunk whose headers are wrong past its sequence
	// number: the chunk keeps its place in its call and is rejected when its turn comes.
	Invalid error
}

// Work is what travels between stages: an input message (segment stage), then an utterance.
type Work struct {
	// Msg is set on input items only.
	Msg *Message

	CallID  string
	Mode    wire.Mode
	Channel int
	Role    string
	// Start is the utterance's first sample at 16 kHz from the start of the call.
	Start int64
	PCM   []float32
	// pcmLen is len(PCM), kept after PCM is freed.
	pcmLen int
	// Prompt is whisper's initial prompt for the utterance (the call's Sentio-Prompt), "" for
	// asr.prompt.
	Prompt string
	// Loudness is the utterance audio's RMS level in dBFS, measured before PCM is freed.
	Loudness float64

	// Summary marks the end-of-stream item that publishes the call summary.
	Summary bool
	// SummaryDelay is how long the summary waits before it waits for the call's utterances: a
	// call taken over with chunks missing may still get them redelivered (see callState.holes).
	SummaryDelay time.Duration
	// Clip is the audio-stream sequence of the clip an utterance (or summary) comes from; 0 in
	// stream mode. It is part of the utterance id (see wire.ClipUtteranceID).
	Clip uint64

	ASR    asr.Result
	Lang   langid.Decision
	Reason *reasoning.Result
	// ReasonError says why the model could not reason about the text (a *reasoning.InputError:
	// its language is not the model's, ...): the result is published without a label, saying so.
	ReasonError string
	Arrived     time.Time
	mu          sync.Mutex
	timingMS    map[string]float64
}

// Sample positions (Work.Start, segment's cuts) count samples at one rate: the one asr/audio
// decodes to and asr transcribes. Package segment, which imports nothing of the project, declares
// it again; this does not compile when the two differ (one of the array lengths is negative).
var _ [asr.SampleRate - segment.SampleRate]struct{} = [segment.SampleRate - asr.SampleRate]struct{}{}

func (w *Work) timed(stage string, since time.Time) {
	w.mu.Lock()
	if w.timingMS == nil {
		w.timingMS = map[string]float64{}
	}
	w.timingMS[stage] += float64(time.Since(since).Nanoseconds()) / 1e6
	w.mu.Unlock()
}

// arrivedOf is the latest arrival among the inputs of an item: when its last audio came in.
func arrivedOf(deps []*stages.Txn) time.Time {
	var t time.Time
	for _, d := range deps {
		if d.Arrived.After(t) {
			t = d.Arrived
		}
	}
	if t.IsZero() {
		t = time.Now()
	}
	return t
}
