package pipeline

import (
	"context"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/wire"
)

// promptASR is fakeASR that records the prompt of each utterance by its length in samples.
type promptASR struct {
	fakeASR
	mu      sync.Mutex
	prompts []string
	hints   []string
}

func (p *promptASR) TranscribeWith(ctx context.Context, pcm []float32, opt asr.Options) (asr.Result, error) {
	p.mu.Lock()
	p.prompts = append(p.prompts, opt.Prompt)
	p.hints = append(p.hints, opt.LanguageHint)
	p.mu.Unlock()
	return p.Transcribe(ctx, pcm)
}

// A stream's utterances get chunk 0's Sentio-Prompt; a later chunk that carries another replaces
// it from there on; a clip's utterances get the clip's. Mechanics, with a test double for whisper.
func TestPromptReachesTheTranscriber(t *testing.T) {
	a := &promptASR{}
	r := newRig(t, a, nil)
	cs := chunks("prompt-stream", threeBursts, 200)
	cs[0].c.Prompt = "amoxicillin"
	for i := range cs {
		if i*200 >= 5000 { // the third burst starts at 5.5 s
			cs[i].c.Prompt = "ibuprofen"
		}
	}
	r.sendChunks(cs)
	results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.prompt-stream", 3, 10*time.Second))
	r.clip("prompt-clip", wav(threeBursts, 16000), map[string]string{wire.HeaderPrompt: "paracetamol"})
	results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.prompt-clip", 3, 10*time.Second))
	a.mu.Lock()
	got := append([]string(nil), a.prompts...)
	a.mu.Unlock()
	sort.Strings(got)
	want := []string{"amoxicillin", "amoxicillin", "ibuprofen", "paracetamol", "paracetamol", "paracetamol"}
	if len(got) != len(want) {
		t.Fatalf("prompts %q; want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("prompts %q; want %q", got, want)
		}
	}
}

// Each utterance of a call after its first is transcribed with the call's last language as
// whisper's hint (asr.guess_language); a call's first utterance has none, whatever the calls
// before it spoke. Mechanics, with a test double for whisper (it always answers English).
func TestCallLanguageHintsTheTranscriber(t *testing.T) {
	a := &promptASR{}
	r := newRig(t, a, nil)
	r.sendChunks(chunks("hinted-1", threeBursts, 200))
	results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.hinted-1", 3, 10*time.Second))
	r.sendChunks(chunks("hinted-2", tone(2, [2]float64{0.5, 1.5}), 200))
	results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.hinted-2", 1, 10*time.Second))
	a.mu.Lock()
	got := append([]string(nil), a.hints...)
	a.mu.Unlock()
	if want := []string{"", "en", "en", ""}; !slices.Equal(got, want) {
		t.Fatalf("language hints %q; want %q (one ASR worker: in order)", got, want)
	}
}
