package reasoning

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/wire"
)

// The labels of sentiment reasoning, in the order of Scores: the labels results carry (wire).
const (
	Negative = wire.LabelNegative
	Neutral  = wire.LabelNeutral
	Positive = wire.LabelPositive
)

// Labels are the labels in the order models and Scores use: wire.Labels.
var Labels = wire.Labels

// Input is one text to reason about.
type Input struct {
	// Text is the utterance (a transcript).
	Text string
	// Lang is its ISO 639-1 language when known ("en"; a tag such as "en-US" is reduced to it);
	// empty lets the model detect it.
	Lang string
	// Context are the previous utterances of the conversation, oldest first; models that read
	// context (kind "llm") show the most recent of them, within their bounds.
	Context []string
}

// Scores holds the probability of each label; they sum to 1.
type Scores struct {
	// Negative is the probability of the negative label.
	Negative float64 `json:"negative"`
	// Neutral is the probability of the neutral label.
	Neutral float64 `json:"neutral"`
	// Positive is the probability of the positive label.
	Positive float64 `json:"positive"`
}

// Get returns the score of label (0 for an unknown label).
func (s Scores) Get(label string) float64 {
	switch label {
	case Negative:
		return s.Negative
	case Neutral:
		return s.Neutral
	case Positive:
		return s.Positive
	}
	return 0
}

// Evidence is a span of the input that drove the label.
type Evidence struct {
	// Start and End are code-point (rune) offsets into the input text, End exclusive.
	Start int `json:"start"`
	End   int `json:"end"`
	// Text is the input's runes [Start, End).
	Text string `json:"text"`
	// Weight is how much the span pushed the label's logit up (larger is stronger).
	Weight float64 `json:"weight"`
}

// Result is the model's reasoning about one text.
type Result struct {
	// Lang is the language used for the text (given, or detected when not given).
	Lang string `json:"lang"`
	// LangDetected says the language was detected rather than given.
	LangDetected bool `json:"lang_detected"`
	// Label is the predicted label: negative, neutral or positive.
	Label string `json:"label"`
	// Scores are the probabilities of the labels.
	Scores Scores `json:"scores"`
	// Rationale is a short phrase in the text's language explaining the label.
	Rationale string `json:"rationale"`
	// RationaleSource says where the rationale came from: "retrieval" (the annotators' rationale
	// voted among the most similar training utterances with the label) or "fallback" (the label's
	// most frequent rationale, when no training utterance is similar) or "llm" (written by the
	// language model of the "llm" kind).
	RationaleSource string `json:"rationale_source"`
	// RationaleNeighbour is the id of the most similar training utterance with the rationale
	// (retrieval only).
	RationaleNeighbour string `json:"rationale_neighbour,omitempty"`
	// RationaleSimilarity is that utterance's cosine similarity to the text (retrieval only).
	RationaleSimilarity float64 `json:"rationale_similarity,omitempty"`
	// Evidence are the spans of the text that drove the label, strongest first.
	Evidence []Evidence `json:"evidence"`
	// Comprehensiveness is the drop in the label's probability when the evidence is removed.
	Comprehensiveness float64 `json:"comprehensiveness"`
	// Sufficiency is the label's probability from the evidence alone.
	Sufficiency float64 `json:"sufficiency"`
	// NoScores says the model gave no label probabilities (an LLM endpoint without
	// log-probabilities): Scores are then all zero and mean nothing.
	NoScores bool `json:"no_scores,omitempty"`
	// Model names the model that answered when it is not the one Info describes (the fallback
	// of an "llm" model), as results' models.reasoning does; empty for the model itself.
	Model string `json:"model,omitempty"`
}

// Info describes a loaded model.
type Info struct {
	// Kind is the manifest's kind.
	Kind string `json:"kind"`
	// Version is the manifest's version.
	Version string `json:"version"`
	// Dir is the model directory.
	Dir string `json:"dir"`
	// Languages are the languages the model was trained on.
	Languages []string `json:"languages"`
	// Provider is the execution provider in use (cpu or cuda).
	Provider string `json:"provider"`
}

// Model reasons about the sentiment of texts. Its methods are safe for concurrent use; concurrent
// calls are gathered into micro-batches.
type Model interface {
	// Predict reasons about one text.
	Predict(ctx context.Context, in Input) (Result, error)
	// PredictBatch reasons about several texts; results[i] answers inputs[i]. An input that
	// cannot be handled fails with errs[i] without failing the others; err is for the call as a
	// whole (the model closed, the context ended).
	PredictBatch(ctx context.Context, inputs []Input) (results []Result, errs []error, err error)
	// Info describes the model.
	Info() Info
	// Close stops the model after the requests in flight; later calls fail with ErrClosed.
	Close() error
}

// ErrClosed is returned by a Model's methods after Close.
var ErrClosed = errors.New("reasoning: model is closed")

// Options are how Open runs a model: the reasoning section of the configuration plus the
// process's logger and language detector.
type Options struct {
	// Config is the reasoning section of the configuration.
	Config config.Reasoning
	// Logger receives the model's log lines; nil uses slog.Default().
	Logger *slog.Logger
	// Detector identifies the language of inputs that do not carry one; nil uses DefaultDetector.
	Detector Detector
}

// opener builds the runtime of one kind of model.
type opener func(m *Manifest, o Options) (Model, error)

// kinds maps manifest kinds to their runtimes: one entry per kind, written out here (a kind
// listed twice does not compile).
var kinds = map[string]opener{
	KindNgramClassifier:   openClassifier,
	KindLLM:               openLLM,
	KindEncoderClassifier: openEncoderClassifier,
	KindSeq2Seq:           openSeq2Seq,
}

// Kinds returns the model kinds this build can serve, sorted.
func Kinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func kindList() string { return strings.Join(Kinds(), ", ") }

// Open loads the model in dir (o.Config.ModelDir when dir is empty) and returns its runtime,
// chosen by the manifest's kind. An unknown kind is refused with an error naming it, the manifest
// and the supported kinds.
func Open(dir string, o Options) (Model, error) {
	if dir == "" {
		dir = o.Config.ModelDir
	}
	if dir == "" {
		return nil, errors.New("reasoning: no model directory: set reasoning.model_dir (or --model-dir)")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Config.MaxBatch <= 0 {
		// A partial configuration: the default's micro-batch size. (A zero max_wait is
		// meaningful: batch only the requests already waiting.)
		o.Config.MaxBatch = config.Defaults().Reasoning.MaxBatch
	}
	if o.Config.MaxWait < 0 {
		o.Config.MaxWait = 0
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	open, ok := kinds[m.Kind]
	if !ok {
		return nil, fmt.Errorf("reasoning: model %s has kind %q, which this sentio cannot serve (supported kinds: %s)", m.Path, m.Kind, kindList())
	}
	return open(m, o)
}

// ByteSpan returns the evidence's offsets as byte offsets into text (the text it was computed
// on), for consumers that index strings by bytes.
func (e Evidence) ByteSpan(text string) (start, end int) {
	n := 0
	start, end = len(text), len(text)
	for i := range text {
		if n == e.Start {
			start = i
		}
		if n == e.End {
			end = i
			break
		}
		n++
	}
	return start, end
}
