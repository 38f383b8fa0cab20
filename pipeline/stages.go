package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/reasoning"
	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// asrStage transcribes an utterance. Each whisper.cpp call is registered with the watchdog: it
// cannot be cancelled, so one running past limit marks the worker hung (see stages.Watchdog).
type asrStage struct {
	t     Transcriber
	wd    *stages.Watchdog
	limit time.Duration
	// langs remembers each call's last language, whisper's guess for the next utterance
	// (asr.guess_language).
	langs *callLanguages
}

// callLanguages is the language of each call's last utterance, for pipeline.max_calls calls.
type callLanguages struct {
	mu  sync.Mutex
	lru *callLRU[string]
}

func newCallLanguages(maxCalls int) *callLanguages {
	return &callLanguages{lru: newCallLRU[string](maxCalls)}
}

func (c *callLanguages) get(callID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.lru.peek(callID); l != nil {
		return *l
	}
	return ""
}

func (c *callLanguages) set(callID, lang string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.lru.get(callID) = lang
}

var _ stages.Stage[*Work] = (*asrStage)(nil)

func (s *asrStage) Name() string { return StageASR }

func (s *asrStage) Process(ctx context.Context, worker int, it stages.Item[*Work], out stages.Emitter[*Work]) error {
	w := it.V
	if !w.Summary {
		start := time.Now()
		w.Loudness = loudnessDBFS(w.PCM)
		end := s.wd.Begin(StageASR, worker, s.limit)
		var res asr.Result
		var err error
		if pt, ok := s.t.(PromptTranscriber); ok {
			res, err = pt.TranscribeWith(ctx, w.PCM, asr.Options{Prompt: w.Prompt, LanguageHint: s.langs.get(w.CallID)})
		} else {
			res, err = s.t.Transcribe(ctx, w.PCM)
		}
		end()
		if err == nil && res.Language != "" {
			s.langs.set(w.CallID, res.Language)
		}
		switch {
		case errors.Is(err, asr.ErrEmptyAudio):
			res = asr.Result{}
		case err != nil:
			return err
		}
		w.ASR = res
		w.timed(StageASR, start)
		w.pcmLen = len(w.PCM)
		w.PCM = nil // the audio is no longer needed; free it before the slower stages
	}
	out(it)
	return nil
}

// langidStage decides the language.
type langidStage struct{ id LanguageIdentifier }

var _ stages.Stage[*Work] = (*langidStage)(nil)

func (s *langidStage) Name() string { return StageLangID }

func (s *langidStage) Process(ctx context.Context, _ int, it stages.Item[*Work], out stages.Emitter[*Work]) error {
	w := it.V
	if !w.Summary {
		start := time.Now()
		if d, outside := s.id.Outside(w.ASR.Detected, float64(w.ASR.DetectedProb)); outside {
			w.Lang = d
		} else {
			w.Lang = s.id.Identify(w.ASR.Text, w.ASR.Language, float64(w.ASR.LanguageProb), w.ASR.LanguageProbs)
		}
		w.timed(StageLangID, start)
	}
	out(it)
	return nil
}

// reasonStage labels the utterance, when its language is supported and it has text. Like ASR,
// each call is registered with the watchdog.
type reasonStage struct {
	r     Reasoner
	wd    *stages.Watchdog
	limit time.Duration
	// history holds the calls' previous utterances for models that read context (nil: none).
	history *callHistory
}

var _ stages.Stage[*Work] = (*reasonStage)(nil)

func (s *reasonStage) Name() string { return StageReason }

func (s *reasonStage) Process(ctx context.Context, worker int, it stages.Item[*Work], out stages.Emitter[*Work]) error {
	w := it.V
	if !w.Summary && w.Lang.Supported && w.ASR.Text != "" {
		start := time.Now()
		end := s.wd.Begin(StageReason, worker, s.limit)
		in := reasoning.Input{Text: w.ASR.Text, Lang: w.Lang.Language}
		if s.history != nil {
			in.Context = s.history.before(w.CallID, w.Start, w.Channel)
		}
		res, err := s.r.Predict(ctx, in)
		end()
		var inputErr *reasoning.InputError
		switch {
		case errors.As(err, &inputErr):
			// Retrying gives the same answer: the utterance is published without a label, with
			// the reason (never dropped, never a DLQ entry for the whole input).
			w.ReasonError = inputErr.Error()
			w.timed(StageReason, start)
			out(it)
			return nil
		case err != nil:
			return fmt.Errorf("reasoning: %w", err)
		}
		w.Reason = &res
		w.timed(StageReason, start)
		if s.history != nil {
			s.history.add(w.CallID, w.Start, w.Channel, w.ASR.Text)
		}
	} else if w.Summary && s.history != nil {
		s.history.forget(w.CallID)
	}
	out(it)
	return nil
}

// utteranceID is the deterministic id of the utterance.
func (w *Work) utteranceID() string {
	if w.Clip != 0 {
		return wire.ClipUtteranceID(w.CallID, w.Clip, w.Channel, w.Start)
	}
	return wire.UtteranceID(w.CallID, w.Channel, w.Start)
}

// result builds the wire result of a finished utterance.
func (w *Work) result(models map[string]string) *wire.Result {
	r := &wire.Result{
		CallID:             w.CallID,
		UtteranceID:        w.utteranceID(),
		Mode:               w.Mode,
		Channel:            w.Channel,
		Role:               w.Role,
		StartMS:            w.Start * 1000 / asr.SampleRate,
		EndMS:              (w.Start + int64(w.durationSamples())) * 1000 / asr.SampleRate,
		Transcript:         w.ASR.Text,
		Language:           w.Lang.Language,
		LanguageConfidence: w.Lang.Confidence,
		LanguageSupported:  w.Lang.Supported,
		LanguageSource:     w.Lang.Source,
		Models:             models,
	}
	if r.Role == "" {
		r.Role = "unknown"
	}
	if w.durationSamples() > 0 {
		l := w.Loudness
		r.LoudnessDBFS = &l
	}
	r.Words = callWords(w.ASR.Words, r.StartMS, r.EndMS)
	if w.Reason != nil {
		r.Label = w.Reason.Label
		if w.Reason.NoScores {
			r.ScoresAvailable = new(false)
		} else {
			r.Scores = map[string]float64{
				reasoning.Negative: w.Reason.Scores.Negative,
				reasoning.Neutral:  w.Reason.Scores.Neutral,
				reasoning.Positive: w.Reason.Scores.Positive,
			}
		}
		if w.Reason.Model != "" {
			// Another model answered (an LLM's fallback): the result names it.
			r.Models = maps.Clone(models)
			r.Models["reasoning"] = w.Reason.Model
		}
		r.Rationale = w.Reason.Rationale
		for _, e := range w.Reason.Evidence {
			r.Evidence = append(r.Evidence, wire.Evidence{Text: e.Text, Start: e.Start, End: e.End, Weight: e.Weight})
		}
	} else if w.Lang.Supported {
		// Supported but silent (no transcript), or a text the model cannot reason about: no
		// label. The schema requires a label for supported languages, so such an utterance says
		// unsupported, and reasoning_error says why when the model refused it.
		r.LanguageSupported = false
		r.ReasoningError = w.ReasonError
	}
	w.mu.Lock()
	r.TimingsMS = map[string]float64{}
	for k, v := range w.timingMS {
		r.TimingsMS[k] = v
	}
	w.mu.Unlock()
	return r
}

func (w *Work) durationSamples() int {
	if w.PCM != nil {
		return len(w.PCM)
	}
	return w.pcmLen
}
