package pipeline

import (
	"context"
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
}

func (p *promptASR) TranscribeWith(ctx context.Context, pcm []float32, opt asr.Options) (asr.Result, error) {
	p.mu.Lock()
	p.prompts = append(p.prompts, opt.Prompt)
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
