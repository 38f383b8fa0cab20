package reasoning

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	ort "github.com/yalue/onnxruntime_go"
)

// KindNgramClassifier is the manifest kind of the hashed n-gram classifier: an ONNX graph over
// feature ids and values giving label probabilities and each feature's additive contribution to
// each label's logit.
const KindNgramClassifier = "ngram-classifier"

// classifier serves a KindNgramClassifier model.
type classifier struct {
	man       *Manifest
	opts      Options
	labelIdx  [3]int // labelIdx[k] is the graph column of Labels[k]
	languages map[string]bool
	extract   extractor
	words     wordSplitter
	rationale rationaleFinder
	rule      evidenceRule
	sess      *session
	batch     *batcher[prepared, scored]
	closeOnce sync.Once
	closeErr  error

	nBatches, nTexts, nMax atomic.Int64 // batches run, texts in them, largest batch
}

// batchStats counts the micro-batches a model has run.
type batchStats struct{ batches, texts, maxBatch int64 }

func (c *classifier) stats() batchStats {
	return batchStats{c.nBatches.Load(), c.nTexts.Load(), c.nMax.Load()}
}

// prepared is a text made ready in the caller's goroutine: its language and features.
type prepared struct {
	text     string
	lang     string
	detected bool
	feats    []Feature
}

// scored is what a batch computes for one text.
type scored struct {
	probs    [3]float32 // in Labels order
	label    int        // index into Labels
	evidence []Evidence
	comp     float64
	suff     float64
}

var _ Model = (*classifier)(nil)

func openClassifier(m *Manifest, o Options) (Model, error) {
	c := &classifier{man: m, opts: o, languages: map[string]bool{}}
	if err := c.checkLabels(); err != nil {
		return nil, err
	}
	for _, l := range m.Languages {
		c.languages[l] = true
	}
	if len(c.languages) == 0 {
		return nil, fmt.Errorf("reasoning: model %s lists no \"languages\"", m.Path)
	}
	var err error
	if c.extract, err = newExtractor(m); err != nil {
		return nil, fmt.Errorf("reasoning: model %s: features: %w", m.Path, err)
	}
	if c.words, err = newWordSplitter(m); err != nil {
		return nil, fmt.Errorf("reasoning: model %s: features: %w", m.Path, err)
	}
	if c.rationale, err = newRationaleFinder(m); err != nil {
		return nil, fmt.Errorf("reasoning: model %s: rationale: %w", m.Path, err)
	}
	if c.rule, err = parseEvidenceRule(m.Evidence); err != nil {
		return nil, fmt.Errorf("reasoning: model %s: evidence: %w", m.Path, err)
	}
	in, out, err := c.tensorNames()
	if err != nil {
		return nil, err
	}
	if _, err := initORT(o.Config.ORTLibrary, o.Logger); err != nil {
		return nil, err
	}
	c.sess, err = newSession(sessionConfig{
		path:     m.file(m.ONNX.File),
		inputs:   in,
		outputs:  out,
		provider: o.Config.Provider,
		threads:  o.Config.Threads,
	}, o.Logger)
	if err != nil {
		return nil, err
	}
	c.batch = newBatcher(o.Config.MaxBatch, o.Config.MaxWait, c.runBatch)
	o.Logger.Info("reasoning model loaded", "kind", m.Kind, "version", m.Version, "dir", m.Dir,
		"provider", c.sess.provider, "threads", o.Config.Threads, "max_batch", o.Config.MaxBatch,
		"max_wait", o.Config.MaxWait.String())
	return c, nil
}

// checkLabels maps the manifest's labels (the graph's columns) onto Labels.
func (c *classifier) checkLabels() error {
	if len(c.man.Labels) != 3 {
		return fmt.Errorf("reasoning: model %s has labels %q; want the three labels %q", c.man.Path, c.man.Labels, Labels)
	}
	for k, want := range Labels {
		i := slices.Index(c.man.Labels, want)
		if i < 0 {
			return fmt.Errorf("reasoning: model %s has labels %q; want the three labels %q", c.man.Path, c.man.Labels, Labels)
		}
		c.labelIdx[k] = i
	}
	return nil
}

// tensorNames returns the graph's input names (ids, values) and output names (probs, contributions).
func (c *classifier) tensorNames() (in, out []string, err error) {
	get := func(m map[string]string, role, where string) string {
		if n := m[role]; n != "" {
			return n
		}
		if err == nil {
			err = fmt.Errorf("reasoning: model %s: onnx.%s has no %q tensor name", c.man.Path, where, role)
		}
		return ""
	}
	in = []string{get(c.man.ONNX.Inputs, "ids", "inputs"), get(c.man.ONNX.Inputs, "values", "inputs")}
	out = []string{get(c.man.ONNX.Outputs, "probs", "outputs"), get(c.man.ONNX.Outputs, "contributions", "outputs")}
	if c.man.ONNX.File == "" && err == nil {
		err = fmt.Errorf("reasoning: model %s: onnx.file is empty", c.man.Path)
	}
	return in, out, err
}

// Info describes the model.
func (c *classifier) Info() Info {
	return Info{Kind: c.man.Kind, Version: c.man.Version, Dir: c.man.Dir,
		Languages: slices.Clone(c.man.Languages), Provider: c.sess.provider}
}

// Close waits for the batches in flight and releases the ONNX Runtime session.
func (c *classifier) Close() error {
	c.closeOnce.Do(func() {
		c.batch.close()
		c.closeErr = c.sess.close()
	})
	return c.closeErr
}

// Predict reasons about one text.
func (c *classifier) Predict(ctx context.Context, in Input) (Result, error) {
	rs, errs, err := c.PredictBatch(ctx, []Input{in})
	if err != nil {
		return Result{}, err
	}
	return rs[0], errs[0]
}

// PredictBatch reasons about several texts, gathered with concurrent callers' into micro-batches.
func (c *classifier) PredictBatch(ctx context.Context, inputs []Input) ([]Result, []error, error) {
	return predictBatch(ctx, c.batch, inputs, c.prepare, c.finish)
}

// prepare checks an input, settles its language and extracts its features.
func (c *classifier) prepare(in Input) (prepared, error) {
	var err error
	p := prepared{text: in.Text}
	if p.lang, p.detected, err = settleLang(in, c.languages, c.man.Languages, c.opts.Detector); err != nil {
		return prepared{}, err
	}
	feats, err := c.extract(in.Text)
	if err != nil {
		return prepared{}, fmt.Errorf("reasoning: features: %w", err)
	}
	p.feats = feats
	return p, nil
}

// runBatch runs one micro-batch: the texts' rows, then for each text a row for the text with its
// evidence removed and a row for the evidence alone, all texts' extra rows in one further call.
func (c *classifier) runBatch(jobs []*job[prepared, scored]) {
	c.nBatches.Add(1)
	c.nTexts.Add(int64(len(jobs)))
	for {
		m := c.nMax.Load()
		if int64(len(jobs)) <= m || c.nMax.CompareAndSwap(m, int64(len(jobs))) {
			break
		}
	}
	fail := func(err error) {
		for _, j := range jobs {
			j.err = err
		}
	}
	rows := make([][]Feature, len(jobs))
	for i, j := range jobs {
		rows[i] = j.in.feats
	}
	probs, contribs, err := c.infer(rows, true)
	if err != nil {
		fail(err)
		return
	}
	// Evidence and the features of the two extra rows per text, spread over the CPUs.
	extra := make([][]Feature, 2*len(jobs))
	errs := make([]error, len(jobs))
	parallel(len(jobs), func(i int) {
		j := jobs[i]
		s := scored{probs: probs[i], label: argmax(probs[i])}
		sel, margins := c.rule.selectEvidence(j.in.feats, contribs[i], c.labelIdx[s.label])
		runes := []rune(j.in.text)
		var err error
		if s.evidence, err = evidenceSpans(runes, j.in.feats, sel, margins); err != nil {
			errs[i] = err
			return
		}
		s.evidence = snapToWords(runes, s.evidence, c.words(runes))
		without, err1 := c.extract(withoutEvidence(runes, s.evidence))
		only, err2 := c.extract(onlyEvidence(s.evidence))
		if err := errors.Join(err1, err2); err != nil {
			errs[i] = fmt.Errorf("reasoning: features: %w", err)
			return
		}
		extra[2*i], extra[2*i+1] = without, only
		j.out = s
	})
	if err := errors.Join(errs...); err != nil {
		fail(err)
		return
	}
	probs2, _, err := c.infer(extra, false)
	if err != nil {
		fail(err)
		return
	}
	for i, j := range jobs {
		l := j.out.label
		j.out.comp = float64(probs[i][l]) - float64(probs2[2*i][l])
		j.out.suff = float64(probs2[2*i+1][l])
	}
}

// infer runs the graph over rows of features, padded to the longest with id 0 and value 0. It
// returns each row's probabilities in Labels order and each row's per-feature contributions
// (graph column order, one [3]float32 per feature of the row) when wantContribs.
func (c *classifier) infer(rows [][]Feature, wantContribs bool) ([][3]float32, [][][3]float32, error) {
	b := len(rows)
	n := 1
	for _, r := range rows {
		n = max(n, len(r))
	}
	ids := make([]int64, b*n)
	vals := make([]float32, b*n)
	for i, r := range rows {
		for k, f := range r {
			ids[i*n+k] = f.ID
			vals[i*n+k] = f.Value
		}
	}
	shape := ort.NewShape(int64(b), int64(n))
	idsT, err := ort.NewTensor(shape, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("reasoning: ids tensor: %w", err)
	}
	defer idsT.Destroy()
	valsT, err := ort.NewTensor(shape, vals)
	if err != nil {
		return nil, nil, fmt.Errorf("reasoning: values tensor: %w", err)
	}
	defer valsT.Destroy()
	outs := []ort.Value{nil, nil}
	if err := c.sess.s.Run([]ort.Value{idsT, valsT}, outs); err != nil {
		return nil, nil, fmt.Errorf("reasoning: running %s: %w", c.man.file(c.man.ONNX.File), err)
	}
	defer outs[0].Destroy()
	defer outs[1].Destroy()
	pT, ok1 := outs[0].(*ort.Tensor[float32])
	cT, ok2 := outs[1].(*ort.Tensor[float32])
	if !ok1 || !ok2 {
		return nil, nil, fmt.Errorf("reasoning: model %s: outputs are not float32 tensors", c.man.Path)
	}
	if s := pT.GetShape(); len(s) != 2 || s[0] != int64(b) || s[1] != 3 {
		return nil, nil, fmt.Errorf("reasoning: model %s: probs has shape %v, want [%d 3]", c.man.Path, s, b)
	}
	if s := cT.GetShape(); len(s) != 3 || s[0] != int64(b) || s[1] != int64(n) || s[2] != 3 {
		return nil, nil, fmt.Errorf("reasoning: model %s: contributions has shape %v, want [%d %d 3]", c.man.Path, s, b, n)
	}
	pd, cd := pT.GetData(), cT.GetData()
	probs := make([][3]float32, b)
	contribs := make([][][3]float32, b)
	for i := range rows {
		for k := range 3 {
			probs[i][k] = pd[i*3+c.labelIdx[k]]
		}
		if !wantContribs {
			continue
		}
		cs := make([][3]float32, len(rows[i]))
		for f := range cs {
			base := (i*n + f) * 3
			cs[f] = [3]float32{cd[base], cd[base+1], cd[base+2]}
		}
		contribs[i] = cs
	}
	return probs, contribs, nil
}

// finish turns a text's scores into its Result: evidence spans, rationale.
func (c *classifier) finish(p prepared, s scored) (Result, error) {
	label := Labels[s.label]
	r := Result{
		Lang:              p.lang,
		LangDetected:      p.detected,
		Label:             label,
		Scores:            Scores{Negative: float64(s.probs[0]), Neutral: float64(s.probs[1]), Positive: float64(s.probs[2])},
		Comprehensiveness: s.comp,
		Sufficiency:       s.suff,
		Evidence:          s.evidence,
	}
	rat, err := c.rationale(p.lang, label, p.feats)
	if err != nil {
		return Result{}, fmt.Errorf("reasoning: rationale: %w", err)
	}
	r.Rationale, r.RationaleSource = rat.Text, rat.Source
	r.RationaleNeighbour, r.RationaleSimilarity = rat.NeighbourID, rat.Similarity
	return r, nil
}

// normalizeLang turns a language tag into the ISO 639-1 code the model uses: lower case, without
// a region or script ("en-US", "zh_Hans" -> "en", "zh").
func normalizeLang(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return tag
}

// parallel calls fn(0..n-1) on up to GOMAXPROCS goroutines and waits for them.
func parallel(n int, fn func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

func argmax(p [3]float32) int {
	best := 0
	for k := 1; k < 3; k++ {
		if p[k] > p[best] {
			best = k
		}
	}
	return best
}
