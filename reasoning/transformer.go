package reasoning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sentio-health/sentio/reasoning/features"
)

// txRuntime is what differs between the transformer kinds: how a text becomes the encoder's
// input, how rows of ids are scored, and whether a rationale is generated. Its methods are called
// by one batch at a time.
type txRuntime interface {
	// input returns the encoder's input text for an utterance in lang (a prompt template).
	input(text, lang string) string
	// probs returns each row's label probabilities, in Labels order.
	probs(rows [][]int64) ([][3]float64, error)
	// predict returns each row's label probabilities and its rationale ids (nil when the kind
	// generates none).
	predict(rows [][]int64) ([][3]float64, [][]int64, error)
	// provider is the execution provider in use.
	provider() string
	// close releases the sessions.
	close() error
}

// txModel serves the transformer kinds (encoder-classifier, seq2seq): the language, the
// tokenizer, micro-batches across callers, occlusion evidence, and the Result; the runtime does
// the graphs.
type txModel struct {
	man       *Manifest
	spec      *TransformerSpec
	opts      Options
	languages map[string]bool
	tok       textTokenizer
	rt        txRuntime
	source    string // Result.RationaleSource
	topK      int    // occlusion evidence: words kept at most; 0 is off
	batch     *batcher[txPrepared, txScored]
	closeOnce sync.Once
	closeErr  error

	nBatches, nTexts, nRows atomic.Int64 // batches run, texts in them, rows run (variants included)
}

// txPrepared is a text made ready in the caller's goroutine.
type txPrepared struct {
	text     string
	lang     string
	detected bool
	ids      []int64   // the encoder's input
	words    [][2]int  // the words occluded, code point offsets
	variants [][]int64 // variants[i]: the input without words[i]
}

// txScored is what a batch computes for one text.
type txScored struct {
	probs     [3]float64
	label     int
	rationale []int64
	evidence  []Evidence
	comp      float64
	suff      float64
}

var _ Model = (*txModel)(nil)

// occlusionWords cuts words for occlusion: the bundled model's word rule (runs of letters, marks
// and digits; each CJK character alone).
var occlusionWords = features.Spec{CJKRanges: [][2]rune{{0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xF900, 0xFAFF}, {0x20000, 0x3FFFF}}}.Words

// newTxModel wraps a runtime into a Model.
func newTxModel(m *Manifest, spec *TransformerSpec, o Options, tok textTokenizer, rt txRuntime, source string) *txModel {
	t := &txModel{man: m, spec: spec, opts: o, languages: map[string]bool{}, tok: tok, rt: rt,
		source: source, topK: max(0, o.Config.OcclusionTopK)}
	for _, l := range m.Languages {
		t.languages[normalizeLang(l)] = true
	}
	t.batch = newBatcher(o.Config.MaxBatch, o.Config.MaxWait, t.runBatch)
	return t
}

// Info describes the model.
func (t *txModel) Info() Info {
	return Info{Kind: t.man.Kind, Version: t.man.Version, Dir: t.man.Dir,
		Languages: slices.Clone(t.man.Languages), Provider: t.rt.provider()}
}

// Close waits for the batches in flight and releases the sessions.
func (t *txModel) Close() error {
	t.closeOnce.Do(func() {
		t.batch.close()
		t.closeErr = errors.Join(t.rt.close(), t.tok.Close())
	})
	return t.closeErr
}

// Predict reasons about one text.
func (t *txModel) Predict(ctx context.Context, in Input) (Result, error) {
	rs, errs, err := t.PredictBatch(ctx, []Input{in})
	if err != nil {
		return Result{}, err
	}
	return rs[0], errs[0]
}

// PredictBatch reasons about several texts, gathered with concurrent callers' into micro-batches.
func (t *txModel) PredictBatch(ctx context.Context, inputs []Input) ([]Result, []error, error) {
	return predictBatch(ctx, t.batch, inputs, t.prepare, t.finish)
}

// prepare checks an input, settles its language, tokenizes it and, with occlusion on, each of
// its variants without one word.
func (t *txModel) prepare(in Input) (txPrepared, error) {
	lang, detected, err := settleLang(in, t.languages, t.man.Languages, t.opts.Detector)
	if err != nil {
		return txPrepared{}, err
	}
	p := txPrepared{text: in.Text, lang: lang, detected: detected}
	if p.ids, err = t.encode(in.Text, lang); err != nil {
		return txPrepared{}, err
	}
	if t.topK == 0 {
		return p, nil
	}
	runes := []rune(in.Text)
	p.words = occlusionWords(runes)
	if len(p.words) > t.spec.MaxInputTokens {
		// Words past the context cannot reach the model: no word takes less than one id.
		p.words = p.words[:t.spec.MaxInputTokens]
	}
	p.variants = make([][]int64, len(p.words))
	for i, w := range p.words {
		if p.variants[i], err = t.encode(withoutEvidence(runes, []Evidence{{Start: w[0], End: w[1]}}), lang); err != nil {
			return txPrepared{}, err
		}
	}
	return p, nil
}

// encode returns the encoder's ids for text in lang, truncated to the model's context.
func (t *txModel) encode(text, lang string) ([]int64, error) {
	ids, err := t.tok.Encode(t.rt.input(text, lang), t.spec.MaxInputTokens)
	if err != nil {
		return nil, fmt.Errorf("reasoning: tokenizing: %w", err)
	}
	if len(ids) == 0 {
		return nil, errors.New("reasoning: the tokenizer gave no ids for the text")
	}
	return ids, nil
}

// runBatch runs one micro-batch: the texts (label, probabilities, rationale), then every variant
// of every text in one further run (occlusion), then each text without its evidence and its
// evidence alone (comprehensiveness and sufficiency).
func (t *txModel) runBatch(jobs []*job[txPrepared, txScored]) {
	t.nBatches.Add(1)
	t.nTexts.Add(int64(len(jobs)))
	fail := func(err error) {
		for _, j := range jobs {
			j.err = err
		}
	}
	rows := make([][]int64, len(jobs))
	for i, j := range jobs {
		rows[i] = j.in.ids
	}
	t.nRows.Add(int64(len(rows)))
	probs, rats, err := t.rt.predict(rows)
	if err != nil {
		fail(err)
		return
	}
	for i, j := range jobs {
		j.out = txScored{probs: probs[i], label: argmax64(probs[i])}
		if rats != nil {
			j.out.rationale = rats[i]
		}
	}
	if t.topK == 0 {
		return
	}
	var vrows [][]int64
	first := make([]int, len(jobs)+1)
	for i, j := range jobs {
		first[i] = len(vrows)
		vrows = append(vrows, j.in.variants...)
	}
	first[len(jobs)] = len(vrows)
	t.nRows.Add(int64(len(vrows)))
	vprobs, err := t.rt.probs(vrows)
	if err != nil {
		fail(err)
		return
	}
	extra := make([][]int64, 2*len(jobs))
	errs := make([]error, len(jobs))
	parallel(len(jobs), func(i int) {
		j := jobs[i]
		l := j.out.label
		drops := make([]float64, len(j.in.words))
		for w := range drops {
			drops[w] = j.out.probs[l] - vprobs[first[i]+w][l]
		}
		runes := []rune(j.in.text)
		j.out.evidence = occlusionEvidence(runes, j.in.words, drops, t.topK)
		if len(j.out.evidence) == 0 {
			return
		}
		var err1, err2 error
		extra[2*i], err1 = t.encode(withoutEvidence(runes, j.out.evidence), j.in.lang)
		extra[2*i+1], err2 = t.encode(onlyEvidence(j.out.evidence), j.in.lang)
		errs[i] = errors.Join(err1, err2)
	})
	if err := errors.Join(errs...); err != nil {
		fail(err)
		return
	}
	var erows [][]int64
	for _, r := range extra {
		if r != nil {
			erows = append(erows, r)
		}
	}
	if len(erows) == 0 {
		return
	}
	t.nRows.Add(int64(len(erows)))
	eprobs, err := t.rt.probs(erows)
	if err != nil {
		fail(err)
		return
	}
	k := 0
	for i, j := range jobs {
		if extra[2*i] == nil {
			continue
		}
		l := j.out.label
		j.out.comp = j.out.probs[l] - eprobs[k][l]
		j.out.suff = eprobs[k+1][l]
		k += 2
	}
}

// finish turns a text's scores into its Result.
func (t *txModel) finish(p txPrepared, s txScored) (Result, error) {
	r := Result{
		Lang:              p.lang,
		LangDetected:      p.detected,
		Label:             Labels[s.label],
		Scores:            Scores{Negative: s.probs[0], Neutral: s.probs[1], Positive: s.probs[2]},
		RationaleSource:   t.source,
		Evidence:          s.evidence,
		Comprehensiveness: s.comp,
		Sufficiency:       s.suff,
	}
	if r.Evidence == nil {
		r.Evidence = []Evidence{}
	}
	if s.rationale != nil {
		text, err := t.tok.Decode(s.rationale)
		if err != nil {
			return Result{}, fmt.Errorf("reasoning: decoding the rationale: %w", err)
		}
		r.Rationale = strings.TrimSpace(text)
	}
	return r, nil
}

func argmax64(p [3]float64) int {
	best := 0
	for k := 1; k < 3; k++ {
		if p[k] > p[best] {
			best = k
		}
	}
	return best
}
