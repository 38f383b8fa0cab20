package reasoning

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// seq2seqRT runs an encoder-decoder exported as Hugging Face Optimum does: the encoder once per
// text; the decoder (without past) over the three label prefixes of every text at once, which
// scores the labels and fills the key/value cache; then the decoder with past, one id per step
// for every text of a bucket together, generates the rationale after the chosen label.
type seq2seqRT struct {
	spec                *TransformerSpec
	enc, dec, past      *session
	encG, decG, pastG   string
	layers              int
	prefix              [3][]int64 // decoder_start, then the label string's and separator's ids: scored, then the rationale follows
	beams, maxBatch     int
	pastTakesEncoderOut bool // the decoder with past also reads encoder_hidden_states
}

// openSeq2Seq opens a KindSeq2Seq model.
func openSeq2Seq(m *Manifest, o Options) (_ Model, err error) {
	spec, tok, err := openTransformer(m, o)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			tok.Close()
		}
	}()
	s := &seq2seqRT{spec: spec, encG: m.file(spec.ONNX.Encoder), decG: m.file(spec.ONNX.Decoder),
		pastG: m.file(spec.ONNX.DecoderWithPast), layers: spec.NumLayers, beams: spec.NumBeams, maxBatch: o.Config.MaxBatch}
	if o.Config.NumBeams > 0 {
		s.beams = o.Config.NumBeams
	}
	if err := s.labelPrefixes(m, tok); err != nil {
		return nil, err
	}
	cfgs, err := s.sessionConfigs(m, o)
	if err != nil {
		return nil, err
	}
	ss, err := openSessions(cfgs, o.Logger)
	if err != nil {
		return nil, err
	}
	s.enc, s.dec, s.past = ss[0], ss[1], ss[2]
	o.Logger.Info("reasoning model loaded", "kind", m.Kind, "version", m.Version, "dir", m.Dir,
		"architecture", spec.Architecture, "provider", s.enc.provider, "threads", o.Config.Threads,
		"max_batch", o.Config.MaxBatch, "max_wait", o.Config.MaxWait.String(), "max_input_tokens", spec.MaxInputTokens,
		"max_output_tokens", spec.MaxOutputTokens, "num_beams", s.beams, "occlusion_top_k", o.Config.OcclusionTopK)
	return newTxModel(m, spec, o, tok, s, "generated"), nil
}

// labelPrefixes settles the decoder ids of each label string with the separator: the manifest's
// (transformer.output.label_ids), else the tokenizer's.
func (s *seq2seqRT) labelPrefixes(m *Manifest, tok textTokenizer) error {
	out := s.spec.Output
	seen := map[string]string{}
	for k, l := range Labels {
		ids := out.LabelIDs[l]
		if ids == nil {
			var err error
			if ids, err = tok.EncodePieces(out.LabelStrings[l] + out.Separator); err != nil {
				return fmt.Errorf("reasoning: model %s: tokenizing transformer.output.label_strings.%s: %w", m.Path, l, err)
			}
			if len(ids) == 0 {
				return fmt.Errorf("reasoning: model %s: transformer.output.label_strings.%s %q gives no ids", m.Path, l, out.LabelStrings[l])
			}
		}
		s.prefix[k] = append([]int64{*s.spec.DecoderStartID}, ids...)
		key := fmt.Sprint(ids)
		if other, ok := seen[key]; ok {
			return fmt.Errorf("reasoning: model %s: the labels %q and %q have the same decoder ids %v (transformer.output): they cannot be told apart", m.Path, other, l, ids)
		}
		seen[key] = l
	}
	return nil
}

// sessionConfigs checks the three graphs' tensors against the manifest and returns their session
// configurations.
func (s *seq2seqRT) sessionConfigs(m *Manifest, o Options) ([]sessionConfig, error) {
	encIn, encOut, err := graphIO(s.encG, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("reasoning: model %s: transformer.onnx.encoder: %w", m.Path, err)
	}
	if err := requireTensors(m, "onnx.encoder", "input", encIn, []string{"input_ids", "attention_mask"}); err != nil {
		return nil, err
	}
	if err := requireTensors(m, "onnx.encoder", "output", encOut, []string{"last_hidden_state"}); err != nil {
		return nil, err
	}
	decIn, decOut, err := graphIO(s.decG, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("reasoning: model %s: transformer.onnx.decoder: %w", m.Path, err)
	}
	pastIn, pastOut, err := graphIO(s.pastG, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("reasoning: model %s: transformer.onnx.decoder_with_past: %w", m.Path, err)
	}
	if n := countLayers(decOut, "present.", ".decoder.key"); n != s.layers {
		return nil, fmt.Errorf("reasoning: model %s: transformer.num_layers is %d, and the graph transformer.onnx.decoder has %d decoder layers (present.*.decoder.key outputs): the manifest and the graphs do not match; %s", m.Path, s.layers, n, convertHelp)
	}
	decInNames := []string{"input_ids", "encoder_attention_mask", "encoder_hidden_states"}
	decOutNames := []string{"logits"}
	pastInNames := []string{"input_ids", "encoder_attention_mask"}
	pastOutNames := []string{"logits"}
	for i := range s.layers {
		for _, kv := range []string{"decoder.key", "decoder.value", "encoder.key", "encoder.value"} {
			decOutNames = append(decOutNames, "present."+strconv.Itoa(i)+"."+kv)
			pastInNames = append(pastInNames, "past_key_values."+strconv.Itoa(i)+"."+kv)
		}
		pastOutNames = append(pastOutNames, "present."+strconv.Itoa(i)+".decoder.key", "present."+strconv.Itoa(i)+".decoder.value")
	}
	if _, ok := pastIn["encoder_hidden_states"]; ok {
		s.pastTakesEncoderOut = true
		pastInNames = append(pastInNames, "encoder_hidden_states")
	}
	for _, c := range []struct {
		field, what string
		have        map[string]ort.InputOutputInfo
		names       []string
	}{
		{"onnx.decoder", "input", decIn, decInNames}, {"onnx.decoder", "output", decOut, decOutNames},
		{"onnx.decoder_with_past", "input", pastIn, pastInNames}, {"onnx.decoder_with_past", "output", pastOut, pastOutNames},
	} {
		if err := requireTensors(m, c.field, c.what, c.have, c.names); err != nil {
			return nil, err
		}
	}
	if d := decOut["present.0.decoder.key"].Dimensions; len(d) == 4 {
		if d[1] > 0 && d[1] != int64(s.spec.NumHeads) {
			return nil, fmt.Errorf("reasoning: model %s: transformer.num_heads is %d, and the graph transformer.onnx.decoder has %d heads; %s", m.Path, s.spec.NumHeads, d[1], convertHelp)
		}
		if d[3] > 0 && d[3] != int64(s.spec.HeadDim) {
			return nil, fmt.Errorf("reasoning: model %s: transformer.head_dim is %d, and the graph transformer.onnx.decoder has %d; %s", m.Path, s.spec.HeadDim, d[3], convertHelp)
		}
	}
	cfg := func(path string, in, out []string) sessionConfig {
		return sessionConfig{path: path, inputs: in, outputs: out, provider: o.Config.Provider, threads: o.Config.Threads}
	}
	return []sessionConfig{
		cfg(s.encG, []string{"input_ids", "attention_mask"}, []string{"last_hidden_state"}),
		cfg(s.decG, decInNames, decOutNames),
		cfg(s.pastG, pastInNames, pastOutNames),
	}, nil
}

// countLayers counts the outputs named prefix<i>suffix.
func countLayers(have map[string]ort.InputOutputInfo, prefix, suffix string) int {
	n := 0
	for name := range have {
		if strings.HasPrefix(name, prefix) && strings.HasSuffix(name, suffix) {
			n++
		}
	}
	return n
}

func (s *seq2seqRT) input(text, lang string) string {
	if s.spec.Prompt == "" {
		return text
	}
	return strings.NewReplacer("{text}", text, "{lang}", lang).Replace(s.spec.Prompt)
}

func (s *seq2seqRT) provider() string { return s.enc.provider }

func (s *seq2seqRT) close() error {
	return errorsJoin(s.enc.close(), s.dec.close(), s.past.close())
}

// probs scores the labels of the rows.
func (s *seq2seqRT) probs(rows [][]int64) ([][3]float64, error) {
	out := make([][3]float64, len(rows))
	for _, idx := range buckets(rows, s.maxBatch) {
		sc, err := s.score(rows, idx, false)
		if err != nil {
			return nil, err
		}
		for r, i := range idx {
			out[i] = sc.probs[r]
		}
	}
	return out, nil
}

// predict scores the labels of the rows and generates each one's rationale after its label.
func (s *seq2seqRT) predict(rows [][]int64) ([][3]float64, [][]int64, error) {
	probs := make([][3]float64, len(rows))
	rats := make([][]int64, len(rows))
	for _, idx := range buckets(rows, s.maxBatch) {
		sc, err := s.score(rows, idx, true)
		if err != nil {
			return nil, nil, err
		}
		for r, i := range idx {
			probs[i] = sc.probs[r]
		}
		ids, err := s.generate(sc)
		sc.release()
		if err != nil {
			return nil, nil, err
		}
		for r, i := range idx {
			rats[i] = ids[r]
			if rats[i] == nil {
				rats[i] = []int64{}
			}
		}
	}
	return probs, rats, nil
}

// scored is one bucket's label scoring: its rows' probabilities and, kept for generation, the
// decoder's outputs over the three prefixes of each row (row 3r+k: row r's prefix of Labels[k]).
type scored3 struct {
	probs  [][3]float64
	label  []int
	n      int                  // encoder length (padded)
	t      int                  // decoder prefix length (padded)
	mask   []int64              // [b, n] encoder attention mask
	hidden *ort.Tensor[float32] // [b, n, d] encoder output (kept when the decoder with past reads it)
	outs   []ort.Value          // logits [3b, t, V], then per layer present decoder key, value, encoder key, value
}

func (sc *scored3) release() {
	destroyAll(sc.outs)
	if sc.hidden != nil {
		sc.hidden.Destroy()
	}
}

// score runs the encoder over a bucket and the decoder over the three label prefixes of each of
// its rows: a label's log-probability is the sum of the log-probabilities of its ids (the label
// string's and the separator's, teacher-forced after decoder_start), and the probabilities are the
// softmax of the three. keep keeps the decoder's outputs for generate.
func (s *seq2seqRT) score(rows [][]int64, idx []int, keep bool) (*scored3, error) {
	ids, mask, n := padRows(rows, idx, s.spec.PadID)
	b := len(idx)
	sc := &scored3{n: n, mask: mask}
	hidden, err := s.encode(ids, mask, b, n)
	if err != nil {
		return nil, err
	}
	hs := hidden.GetShape()
	d := int(hs[2])
	// Three decoder rows per text: each of the label prefixes, padded at the end (the decoder is
	// causal: padding after a prefix changes nothing before it).
	for _, p := range s.prefix {
		sc.t = max(sc.t, len(p))
	}
	t := sc.t
	dIDs := make([]int64, 3*b*t)
	dMask := make([]int64, 3*b*n)
	dHidden := make([]float32, 3*b*n*d)
	hdata := hidden.GetData()
	for r := range b {
		for k := range 3 {
			row := 3*r + k
			copy(dIDs[row*t:], s.prefix[k])
			for j := len(s.prefix[k]); j < t; j++ {
				dIDs[row*t+j] = s.spec.PadID
			}
			copy(dMask[row*n:(row+1)*n], mask[r*n:(r+1)*n])
			copy(dHidden[row*n*d:(row+1)*n*d], hdata[r*n*d:(r+1)*n*d])
		}
	}
	if keep && s.pastTakesEncoderOut {
		sc.hidden = hidden
	} else {
		hidden.Destroy()
	}
	in := make([]ort.Value, 0, 3)
	defer func() { destroyAll(in) }()
	for _, mk := range []func() (ort.Value, error){
		func() (ort.Value, error) { return newTensor(dIDs, 3*b, t) },
		func() (ort.Value, error) { return newTensor(dMask, 3*b, n) },
		func() (ort.Value, error) { return newTensor(dHidden, 3*b, n, d) },
	} {
		v, err := mk()
		if err != nil {
			sc.release()
			return nil, err
		}
		in = append(in, v)
	}
	sc.outs = make([]ort.Value, 1+4*s.layers)
	if err := s.dec.s.Run(in, sc.outs); err != nil {
		sc.release()
		return nil, fmt.Errorf("reasoning: running %s: %w", s.decG, err)
	}
	logits, err := float32Out(sc.outs, 0, "logits", s.decG, 3)
	if err != nil {
		sc.release()
		return nil, err
	}
	v := int(logits.GetShape()[2])
	ld := logits.GetData()
	sc.probs = make([][3]float64, b)
	sc.label = make([]int, b)
	parallel(b, func(r int) {
		var lp [3]float64
		var lse [3][]float64 // per label and position: the log-normaliser, shared by labels with the same prefix so far
		for k := range 3 {
			row := 3*r + k
			lse[k] = make([]float64, len(s.prefix[k])-1)
			for j, id := range s.prefix[k][1:] {
				x := ld[(row*t+j)*v : (row*t+j+1)*v]
				if same := s.samePrefix(k, j); same < k {
					lse[k][j] = lse[same][j] // the same decoder input so far: the same logits
				} else {
					lse[k][j] = logSumExp(x)
				}
				lp[k] += float64(x[id]) - lse[k][j]
			}
		}
		sc.probs[r] = softmax3(lp)
		sc.label[r] = argmax64(sc.probs[r])
	})
	if !keep {
		sc.release()
		sc.outs = nil
	}
	return sc, nil
}

// samePrefix returns the first label whose decoder input up to position j (decoder_start and
// j label ids) is label k's.
func (s *seq2seqRT) samePrefix(k, j int) int {
	for o := range k {
		if len(s.prefix[o]) > j+1 && slices.Equal(s.prefix[o][:j+1], s.prefix[k][:j+1]) {
			return o
		}
	}
	return k
}

// encode runs the encoder over a padded batch.
func (s *seq2seqRT) encode(ids, mask []int64, b, n int) (*ort.Tensor[float32], error) {
	in, err := batchInputs(ids, mask, b, n)
	if err != nil {
		return nil, err
	}
	defer destroyAll(in)
	outs := []ort.Value{nil}
	if err := s.enc.s.Run(in, outs); err != nil {
		return nil, fmt.Errorf("reasoning: running %s: %w", s.encG, err)
	}
	h, err := float32Out(outs, 0, "last_hidden_state", s.encG, 3)
	if err != nil {
		destroyAll(outs)
		return nil, err
	}
	if sh := h.GetShape(); sh[0] != int64(b) || sh[1] != int64(n) {
		destroyAll(outs)
		return nil, fmt.Errorf("reasoning: %s: last_hidden_state has shape %v, want [%d %d d]", s.encG, sh, b, n)
	}
	return h, nil
}

// generate generates the rationale of each row of a scored bucket after its label's prefix. Rows
// whose prefixes have the same length run together (the decoder with past has no decoder mask,
// so a batch's caches must be equally long): at most three groups.
func (s *seq2seqRT) generate(sc *scored3) ([][]int64, error) {
	out := make([][]int64, len(sc.label))
	byLen := map[int][]int{}
	var lens []int
	for r, k := range sc.label {
		l := len(s.prefix[k])
		if _, ok := byLen[l]; !ok {
			lens = append(lens, l)
		}
		byLen[l] = append(byLen[l], r)
	}
	slices.Sort(lens)
	for _, l := range lens {
		rows := byLen[l]
		searches := make([]decodeSearch, len(rows))
		for i := range rows {
			searches[i] = newSearch(s.beams, s.spec.MaxOutputTokens, *s.spec.EOSID)
		}
		if err := s.runSearches(sc, rows, l, searches); err != nil {
			return nil, err
		}
		for i, r := range rows {
			out[r] = searches[i].result()
		}
	}
	return out, nil
}

// kvState is the decoder's state for a batch of rows: each layer's self-attention cache (grows a
// position per step) and cross-attention cache (fixed), the encoder mask, and which text each row
// belongs to (a text's rows are adjacent).
type kvState struct {
	dec    []ort.Value // per layer: key, value [rows, heads, len, head_dim]
	enc    []ort.Value // per layer: key, value [rows, heads, n, head_dim]
	mask   *ort.Tensor[int64]
	hidden *ort.Tensor[float32] // [rows, n, d] when the decoder with past reads it
	text   []int
}

func (st *kvState) release() {
	destroyAll(st.dec)
	destroyAll(st.enc)
	if st.mask != nil {
		st.mask.Destroy()
	}
	if st.hidden != nil {
		st.hidden.Destroy()
	}
}

// runSearches runs the searches of a scored bucket's rows (rows, all with prefixes of length l)
// to the end: the caches start as the scoring run's, cut to the prefix, and each step runs the
// decoder with past over the rows of the searches still going.
func (s *seq2seqRT) runSearches(sc *scored3, rows []int, l int, searches []decodeSearch) error {
	src := make([]int, len(rows)) // rows of the scoring run: 3r+label
	st := &kvState{text: make([]int, len(rows))}
	defer st.release()
	for i, r := range rows {
		src[i] = 3*r + sc.label[r]
		st.text[i] = i
	}
	var err error
	for i := range s.layers {
		for j := range 4 {
			crop := l // the self-attention cache, cut to the prefix
			if j >= 2 {
				crop = -1 // the cross-attention cache
			}
			v, gerr := gatherF32(sc.outs[1+4*i+j], src, crop)
			if gerr != nil {
				return gerr
			}
			if j < 2 {
				st.dec = append(st.dec, v)
			} else {
				st.enc = append(st.enc, v)
			}
		}
	}
	if st.mask, err = gatherI64(sc.mask, sc.n, rows); err != nil {
		return err
	}
	if s.pastTakesEncoderOut {
		if st.hidden, err = gatherF32(sc.hidden, rows, -1); err != nil {
			return err
		}
	}
	// The first step's logits: each row's at its prefix's last position.
	lt := sc.outs[0].(*ort.Tensor[float32])
	v := int(lt.GetShape()[2])
	ld := lt.GetData()
	logits := make([][]float32, len(rows))
	for i, r := range src {
		logits[i] = ld[(r*sc.t+l-1)*v : (r*sc.t+l)*v]
	}
	count := make([]int, len(searches))
	for i := range count {
		count[i] = 1
	}
	live := make([]int, len(searches))
	for i := range live {
		live[i] = i
	}
	var lastLogits ort.Value
	defer func() {
		if lastLogits != nil {
			lastLogits.Destroy()
		}
	}()
	for {
		type stepOut struct {
			src  []int
			toks []int64
			done bool
		}
		steps := make([]stepOut, len(live))
		offs := make([]int, len(live)+1)
		for k, t := range live {
			offs[k+1] = offs[k] + count[t]
		}
		parallel(len(live), func(k int) {
			o := &steps[k]
			o.src, o.toks, o.done = searches[live[k]].step(logits[offs[k]:offs[k+1]])
		})
		var next []int
		var toks []int64
		var text []int
		var nextLive []int
		for k, t := range live {
			if steps[k].done {
				continue
			}
			for _, s := range steps[k].src {
				next = append(next, offs[k]+s)
				text = append(text, t)
			}
			toks = append(toks, steps[k].toks...)
			count[t] = len(steps[k].src)
			nextLive = append(nextLive, t)
		}
		live = nextLive
		if len(next) == 0 {
			return nil
		}
		if err := s.reorder(st, next, text); err != nil {
			return err
		}
		if lastLogits != nil {
			lastLogits.Destroy()
			lastLogits = nil
		}
		lt, err := s.stepDecoder(st, toks)
		if err != nil {
			return err
		}
		lastLogits = lt
		ld := lt.GetData()
		if len(ld) != len(next)*v {
			return fmt.Errorf("reasoning: %s: logits have shape %v, want [%d 1 %d]", s.pastG, lt.GetShape(), len(next), v)
		}
		logits = make([][]float32, len(next))
		for i := range next {
			logits[i] = ld[i*v : (i+1)*v]
		}
	}
}

// reorder makes the state's rows next (rows of the current state; text: their texts): the
// self-attention caches are gathered when the rows change, the cross-attention caches and the
// mask only when the rows' texts change (the beams of a text share them).
func (s *seq2seqRT) reorder(st *kvState, next, text []int) error {
	identity := len(next) == len(st.text)
	for i, r := range next {
		identity = identity && r == i
	}
	if identity {
		return nil
	}
	for i, v := range st.dec {
		g, err := gatherF32(v, next, -1)
		if err != nil {
			return err
		}
		v.Destroy()
		st.dec[i] = g
	}
	if !slices.Equal(text, st.text) {
		for i, v := range st.enc {
			g, err := gatherF32(v, next, -1)
			if err != nil {
				return err
			}
			v.Destroy()
			st.enc[i] = g
		}
		n := int(st.mask.GetShape()[1])
		m, err := gatherI64(st.mask.GetData(), n, next)
		if err != nil {
			return err
		}
		st.mask.Destroy()
		st.mask = m
		if st.hidden != nil {
			h, err := gatherF32(st.hidden, next, -1)
			if err != nil {
				return err
			}
			st.hidden.Destroy()
			st.hidden = h
		}
	}
	st.text = text
	return nil
}

// stepDecoder runs the decoder with past over one id per row; the state's self-attention caches
// become the graph's presents (one position longer). It returns the logits [rows, 1, vocab].
func (s *seq2seqRT) stepDecoder(st *kvState, toks []int64) (*ort.Tensor[float32], error) {
	idsT, err := newTensor(toks, len(toks), 1)
	if err != nil {
		return nil, err
	}
	defer idsT.Destroy()
	in := make([]ort.Value, 0, 2+4*s.layers+1)
	in = append(in, idsT, st.mask)
	for i := range s.layers {
		in = append(in, st.dec[2*i], st.dec[2*i+1], st.enc[2*i], st.enc[2*i+1])
	}
	if st.hidden != nil {
		in = append(in, st.hidden)
	}
	outs := make([]ort.Value, 1+2*s.layers)
	if err := s.past.s.Run(in, outs); err != nil {
		return nil, fmt.Errorf("reasoning: running %s: %w", s.pastG, err)
	}
	lt, err := float32Out(outs, 0, "logits", s.pastG, 3)
	if err != nil {
		destroyAll(outs)
		return nil, err
	}
	destroyAll(st.dec)
	st.dec = outs[1:]
	return lt, nil
}

// gatherF32 returns a new tensor of the rows of v (a float32 tensor [rows, ...]) listed in rows;
// with crop >= 0 the third dimension (a cache's length) is cut to its first crop positions.
func gatherF32(v ort.Value, rows []int, crop int) (*ort.Tensor[float32], error) {
	t, ok := v.(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("reasoning: a cache tensor is not float32")
	}
	shape := t.GetShape()
	data := t.GetData()
	dims := make([]int, len(shape))
	for i, d := range shape {
		dims[i] = int(d)
	}
	if crop < 0 || len(dims) < 3 {
		inner := 1
		for _, d := range dims[1:] {
			inner *= d
		}
		out := make([]float32, len(rows)*inner)
		for i, r := range rows {
			copy(out[i*inner:(i+1)*inner], data[r*inner:(r+1)*inner])
		}
		dims[0] = len(rows)
		return newTensor(out, dims...)
	}
	// [rows, heads, len, head_dim] cut to len crop.
	h, l, d := dims[1], dims[2], 1
	for _, x := range dims[3:] {
		d *= x
	}
	out := make([]float32, len(rows)*h*crop*d)
	for i, r := range rows {
		for j := range h {
			src := data[((r*h+j)*l)*d:]
			copy(out[((i*h+j)*crop)*d:((i*h+j)*crop+crop)*d], src[:crop*d])
		}
	}
	dims[0], dims[2] = len(rows), crop
	return newTensor(out, dims...)
}

// gatherI64 returns the rows (of n values each) of data listed in rows, as a [len(rows), n] tensor.
func gatherI64(data []int64, n int, rows []int) (*ort.Tensor[int64], error) {
	out := make([]int64, len(rows)*n)
	for i, r := range rows {
		copy(out[i*n:(i+1)*n], data[r*n:(r+1)*n])
	}
	return newTensor(out, len(rows), n)
}

func errorsJoin(errs ...error) error { return errors.Join(errs...) }
