package reasoning

import (
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// graphIO returns the names (and infos) of a graph's inputs and outputs.
func graphIO(path string, log *slog.Logger) (in, out map[string]ort.InputOutputInfo, err error) {
	var ins, outs []ort.InputOutputInfo
	err = quietly(log, func() error {
		var e error
		ins, outs, e = ort.GetInputOutputInfo(path)
		return e
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading the graph %s: %w", path, err)
	}
	in, out = map[string]ort.InputOutputInfo{}, map[string]ort.InputOutputInfo{}
	for _, i := range ins {
		in[i.Name] = i
	}
	for _, o := range outs {
		out[o.Name] = o
	}
	return in, out, nil
}

// requireTensors checks that a graph (the manifest's field naming it) has the tensors names.
func requireTensors(m *Manifest, field, what string, have map[string]ort.InputOutputInfo, names []string) error {
	var missing []string
	for _, n := range names {
		if _, ok := have[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var got []string
	for n := range have {
		got = append(got, n)
	}
	sort.Strings(got)
	return fmt.Errorf("reasoning: model %s: the graph transformer.%s has no %s %s (it has %s): it is not the graph this kind needs; %s",
		m.Path, field, what, strings.Join(missing, ", "), strings.Join(got, ", "), convertHelp)
}

// openSessions creates one session per graph; the first settles the provider (auto: CUDA, or the
// CPU with one warning) and the others use the same.
func openSessions(cfgs []sessionConfig, log *slog.Logger) ([]*session, error) {
	var out []*session
	for i, c := range cfgs {
		if i > 0 {
			c.provider = out[0].provider
		}
		s, err := newSession(c, log)
		if err != nil {
			for _, o := range out {
				o.close()
			}
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// maxPadding bounds a bucket's padded size (rows × its longest) against its ids: a longer row
// that would push it past this starts a new bucket.
const maxPadding = 1.5

// buckets sorts the rows by length and cuts them into buckets of at most maxBatch rows, each
// padded only to its own longest: a row starts a new bucket when the bucket is full or when
// padding the bucket to that row would make it more than maxPadding times its ids (attention
// costs grow with the padded length). It returns the indices of each bucket's rows.
func buckets(rows [][]int64, maxBatch int) [][]int {
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return len(rows[idx[a]]) < len(rows[idx[b]]) })
	maxBatch = max(1, maxBatch)
	var out [][]int
	start, ids := 0, 0
	for k, i := range idx {
		l := len(rows[i])
		if n := k - start; n > 0 && (n == maxBatch || float64((n+1)*l) > maxPadding*float64(ids+l)) {
			out = append(out, idx[start:k:k])
			start, ids = k, 0
		}
		ids += l
	}
	if start < len(idx) {
		out = append(out, idx[start:])
	}
	return out
}

// padRows lays out rows (the ones idx names) as a [len(idx), n] batch padded at the end with pad
// to the longest, n, and its attention mask (1 for an id, 0 for padding).
func padRows(rows [][]int64, idx []int, pad int64) (ids, mask []int64, n int) {
	for _, i := range idx {
		n = max(n, len(rows[i]))
	}
	ids = make([]int64, len(idx)*n)
	mask = make([]int64, len(idx)*n)
	for r, i := range idx {
		row := ids[r*n : (r+1)*n]
		copy(row, rows[i])
		for k := len(rows[i]); k < n; k++ {
			row[k] = pad
		}
		for k := range rows[i] {
			mask[r*n+k] = 1
		}
	}
	return ids, mask, n
}

// softmax3 returns the softmax of three logits, in float64.
func softmax3(x [3]float64) [3]float64 {
	m := max(x[0], x[1], x[2])
	var out [3]float64
	var sum float64
	for k := range 3 {
		out[k] = math.Exp(x[k] - m)
		sum += out[k]
	}
	for k := range 3 {
		out[k] /= sum
	}
	return out
}

// logSumExp returns log(sum(exp(x))) of float32 logits, in float64.
func logSumExp(x []float32) float64 {
	m := float64(slices.Max(x))
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v) - m)
	}
	return m + math.Log(sum)
}

// batchInputs wraps a padded batch's ids and attention mask (padRows' output, [b, n] each) as
// the input_ids and attention_mask tensors, in that order. The caller releases them with
// destroyAll; on an error nothing is left to release.
func batchInputs(ids, mask []int64, b, n int) ([]ort.Value, error) {
	idsT, err := newTensor(ids, b, n)
	if err != nil {
		return nil, err
	}
	maskT, err := newTensor(mask, b, n)
	if err != nil {
		idsT.Destroy()
		return nil, err
	}
	return []ort.Value{idsT, maskT}, nil
}

// newTensor wraps data as a tensor of shape dims.
func newTensor[T ort.TensorData](data []T, dims ...int) (*ort.Tensor[T], error) {
	shape := make(ort.Shape, len(dims))
	for i, d := range dims {
		shape[i] = int64(d)
	}
	return ort.NewTensor(shape, data)
}

// destroyAll destroys the non-nil values.
func destroyAll(vs []ort.Value) {
	for _, v := range vs {
		if v != nil {
			v.Destroy()
		}
	}
}

// float32Out returns output i as a float32 tensor with rank dims, or an error naming the graph.
func float32Out(outs []ort.Value, i int, name, graph string, rank int) (*ort.Tensor[float32], error) {
	t, ok := outs[i].(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("reasoning: %s: output %s is not a float32 tensor", graph, name)
	}
	if s := t.GetShape(); len(s) != rank {
		return nil, fmt.Errorf("reasoning: %s: output %s has shape %v, want %d dimensions", graph, name, s, rank)
	}
	return t, nil
}
