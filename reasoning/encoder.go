package reasoning

import (
	"fmt"
	"slices"

	ort "github.com/yalue/onnxruntime_go"
)

// encoderRT runs an encoder-classifier graph: input_ids and attention_mask (and token_type_ids,
// all 0, when the graph has it) in, logits [batch, labels] out.
type encoderRT struct {
	graph    string
	sess     *session
	labelIdx [3]int // labelIdx[k] is the logits column of Labels[k]
	pad      int64
	maxBatch int
	typeIDs  bool
}

// openEncoderClassifier opens a KindEncoderClassifier model.
func openEncoderClassifier(m *Manifest, o Options) (_ Model, err error) {
	spec, tok, err := openTransformer(m, o)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			tok.Close()
		}
	}()
	rt := &encoderRT{graph: m.file(spec.ONNX.Model), pad: spec.PadID, maxBatch: o.Config.MaxBatch}
	for k, l := range Labels {
		rt.labelIdx[k] = slices.Index(m.Labels, l)
	}
	in, out, err := graphIO(rt.graph, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("reasoning: model %s: transformer.onnx.model: %w", m.Path, err)
	}
	if err := requireTensors(m, "onnx.model", "input", in, []string{"input_ids", "attention_mask"}); err != nil {
		return nil, err
	}
	if err := requireTensors(m, "onnx.model", "output", out, []string{"logits"}); err != nil {
		return nil, err
	}
	if d := out["logits"].Dimensions; len(d) != 2 || (d[1] > 0 && d[1] != int64(len(m.Labels))) {
		return nil, fmt.Errorf("reasoning: model %s: the graph transformer.onnx.model gives logits of shape %v, and the manifest has %d labels: the labels (id2label) and the graph do not match; %s",
			m.Path, d, len(m.Labels), convertHelp)
	}
	inputs := []string{"input_ids", "attention_mask"}
	if _, ok := in["token_type_ids"]; ok {
		rt.typeIDs = true
		inputs = append(inputs, "token_type_ids")
	}
	ss, err := openSessions([]sessionConfig{{path: rt.graph, inputs: inputs, outputs: []string{"logits"},
		provider: o.Config.Provider, threads: o.Config.Threads}}, o.Logger)
	if err != nil {
		return nil, err
	}
	rt.sess = ss[0]
	o.Logger.Info("reasoning model loaded", "kind", m.Kind, "version", m.Version, "dir", m.Dir,
		"architecture", spec.Architecture, "provider", rt.sess.provider, "threads", o.Config.Threads,
		"max_batch", o.Config.MaxBatch, "max_wait", o.Config.MaxWait.String(),
		"max_input_tokens", spec.MaxInputTokens, "occlusion_top_k", o.Config.OcclusionTopK)
	return newTxModel(m, spec, o, tok, rt, "none"), nil
}

func (e *encoderRT) input(text, _ string) string { return text }

func (e *encoderRT) provider() string { return e.sess.provider }

func (e *encoderRT) close() error { return e.sess.close() }

func (e *encoderRT) predict(rows [][]int64) ([][3]float64, [][]int64, error) {
	p, err := e.probs(rows)
	return p, nil, err
}

// probs runs the rows in length buckets of at most max_batch rows, each padded to its longest.
func (e *encoderRT) probs(rows [][]int64) ([][3]float64, error) {
	out := make([][3]float64, len(rows))
	for _, idx := range buckets(rows, e.maxBatch) {
		logits, err := e.run(rows, idx)
		if err != nil {
			return nil, err
		}
		for r, i := range idx {
			var x [3]float64
			for k := range 3 {
				x[k] = float64(logits[r][e.labelIdx[k]])
			}
			out[i] = softmax3(x)
		}
	}
	return out, nil
}

// run runs one bucket and returns its rows' logits in graph column order.
func (e *encoderRT) run(rows [][]int64, idx []int) ([][]float32, error) {
	ids, mask, n := padRows(rows, idx, e.pad)
	b := len(idx)
	in, err := batchInputs(ids, mask, b, n)
	if err != nil {
		return nil, err
	}
	defer func() { destroyAll(in) }()
	if e.typeIDs {
		tt, err := newTensor(make([]int64, b*n), b, n)
		if err != nil {
			return nil, err
		}
		in = append(in, tt)
	}
	outs := []ort.Value{nil}
	if err := e.sess.s.Run(in, outs); err != nil {
		return nil, fmt.Errorf("reasoning: running %s: %w", e.graph, err)
	}
	defer destroyAll(outs)
	lt, err := float32Out(outs, 0, "logits", e.graph, 2)
	if err != nil {
		return nil, err
	}
	s := lt.GetShape()
	if s[0] != int64(b) || s[1] < 3 {
		return nil, fmt.Errorf("reasoning: %s: logits have shape %v, want [%d 3]", e.graph, s, b)
	}
	c := int(s[1])
	data := lt.GetData()
	out := make([][]float32, b)
	for r := range b {
		out[r] = slices.Clone(data[r*c : (r+1)*c])
	}
	return out, nil
}
