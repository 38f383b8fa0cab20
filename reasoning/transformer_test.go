package reasoning

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"

	ort "github.com/yalue/onnxruntime_go"
)

// The transformer tests run real ONNX Runtime on real graphs of the real architectures
// (XLMRobertaForSequenceClassification, T5ForConditionalGeneration) with random weights, made by
// models/transformer (build.py, convert.py) and committed under testdata/transformer.

// txDir returns the model directory of a random-weight transformer model (random-cls,
// random-s2s), or skips the test when it is missing.
func txDir(t testing.TB, name string) string {
	t.Helper()
	for _, d := range []string{
		filepath.Join("testdata", "transformer", name),
		filepath.Join(testenv.RepoRoot(t), "models", "transformer", name), // the trained classifier, seq2seq
		filepath.Join(testenv.RepoRoot(t), "models", "transformer", "build", name),
	} {
		if _, err := os.Stat(filepath.Join(d, ManifestFile)); err == nil {
			abs, err := filepath.Abs(d)
			if err != nil {
				t.Fatal(err)
			}
			return abs
		}
	}
	t.Skipf("no %s model in testdata/transformer: make it with models/transformer (make -C models/transformer random)", name)
	return ""
}

func txOptions(mod func(*Options)) Options {
	o := Options{Config: config.Reasoning{Provider: "cpu", Threads: 1, MaxBatch: 8, MaxWait: 5 * time.Millisecond, OcclusionTopK: 3},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if mod != nil {
		mod(&o)
	}
	return o
}

func openTx(t testing.TB, name string, mod func(*Options)) *txModel {
	t.Helper()
	m, err := Open(txDir(t, name), txOptions(mod))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m.(*txModel)
}

// texts of several lengths in the five languages, for batches that need padding.
var txTexts = []Input{
	{Lang: "en", Text: "ok"},
	{Lang: "en", Text: "The patient feels much better today and the pain is gone."},
	{Lang: "vi", Text: "Bệnh nhân cảm thấy khỏe hơn nhiều sau khi điều trị, rất vui."},
	{Lang: "zh", Text: "病人今天感觉好多了，疼痛也消失了。"},
	{Lang: "de", Text: "Die Behandlung hat leider nicht geholfen."},
	{Lang: "fr", Text: "Le patient se sent beaucoup mieux aujourd'hui, la douleur a disparu 😊"},
	{Lang: "en", Text: strings.Repeat("A patient with type 2 diabetes should check blood sugar levels regularly. ", 30)},
}

// TestTransformerBatchEqualsSingle: a text's result does not depend on the texts it is batched
// with (padding, attention masks, length buckets, the KV cache's rows): PredictBatch over texts
// of very different lengths gives each one's Predict alone.
func TestTransformerBatchEqualsSingle(t *testing.T) {
	for _, name := range []string{"random-cls", "random-s2s"} {
		t.Run(name, func(t *testing.T) {
			m := openTx(t, name, func(o *Options) { o.Config.MaxBatch = 3 })
			ctx := context.Background()
			batch, errs, err := m.PredictBatch(ctx, txTexts)
			if err != nil {
				t.Fatal(err)
			}
			for i, in := range txTexts {
				if errs[i] != nil {
					t.Fatalf("%q: %v", in.Text, errs[i])
				}
				checkResult(t, in, batch[i])
				one, err := m.Predict(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range Labels {
					if d := math.Abs(one.Scores.Get(l) - batch[i].Scores.Get(l)); d > 1e-5 {
						t.Errorf("%.30q: %s %.6f alone, %.6f in a batch", in.Text, l, one.Scores.Get(l), batch[i].Scores.Get(l))
					}
				}
				if one.Label != batch[i].Label || one.Rationale != batch[i].Rationale {
					t.Errorf("%.30q: %s %q alone, %s %q in a batch", in.Text, one.Label, one.Rationale, batch[i].Label, batch[i].Rationale)
				}
				if name == "random-s2s" && batch[i].RationaleSource != "generated" {
					t.Errorf("rationale source %q, want generated", batch[i].RationaleSource)
				}
			}
			if st := m.nBatches.Load(); st == 0 {
				t.Error("no batch ran")
			}
		})
	}
}

// TestSeq2SeqKVCacheEqualsFullDecoding: the rationale generated with the decoder with past (the KV
// cache, in a batch) is the one greedy decoding gives by running the decoder without past over the
// whole sequence at every step.
func TestSeq2SeqKVCacheEqualsFullDecoding(t *testing.T) {
	m := openTx(t, "random-s2s", func(o *Options) { o.Config.OcclusionTopK = 0 })
	rt := m.rt.(*seq2seqRT)
	rows := make([][]int64, len(txTexts))
	for i, in := range txTexts {
		var err error
		if rows[i], err = m.encode(in.Text, in.Lang); err != nil {
			t.Fatal(err)
		}
	}
	probs, rats, err := rt.predict(rows)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		label := argmax64(probs[i])
		seq := slices.Clone(rt.prefix[label])
		var want []int64
		for len(seq)-len(rt.prefix[label]) < rt.spec.MaxOutputTokens {
			next := fullDecodeStep(t, rt, row, seq)
			if next == *rt.spec.EOSID {
				break
			}
			want = append(want, next)
			seq = append(seq, next)
		}
		if !slices.Equal(rats[i], want) {
			t.Errorf("%.30q: KV cache gives %v, full decoding %v", txTexts[i].Text, rats[i], want)
		}
	}
}

// fullDecodeStep runs the encoder and the decoder without past over seq and returns the most
// likely next id.
func fullDecodeStep(t *testing.T, rt *seq2seqRT, row, seq []int64) int64 {
	t.Helper()
	ids, mask, n := padRows([][]int64{row}, []int{0}, rt.spec.PadID)
	h, err := rt.encode(ids, mask, 1, n)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Destroy()
	d := int(h.GetShape()[2])
	idsT, _ := newTensor(slices.Clone(seq), 1, len(seq))
	maskT, _ := newTensor(mask, 1, n)
	hT, _ := newTensor(slices.Clone(h.GetData()), 1, n, d)
	defer idsT.Destroy()
	defer maskT.Destroy()
	defer hT.Destroy()
	outs := make([]ort.Value, 1+4*rt.layers)
	if err := rt.dec.s.Run([]ort.Value{idsT, maskT, hT}, outs); err != nil {
		t.Fatal(err)
	}
	defer destroyAll(outs)
	lt, err := float32Out(outs, 0, "logits", "decoder", 3)
	if err != nil {
		t.Fatal(err)
	}
	v := int(lt.GetShape()[2])
	last := lt.GetData()[(len(seq)-1)*v : len(seq)*v]
	return int64(argmaxF32(last))
}

// TestOcclusionWeightsAreProbabilityDrops: each evidence word's weight is the label's probability
// on the text less its probability on the text without that word, as Predict measures them; the
// comprehensiveness and sufficiency are those of the text without the evidence and of the
// evidence alone.
func TestOcclusionWeightsAreProbabilityDrops(t *testing.T) {
	for _, name := range []string{"random-cls", "random-s2s"} {
		t.Run(name, func(t *testing.T) {
			m := openTx(t, name, nil)
			plain := openTx(t, name, func(o *Options) { o.Config.OcclusionTopK = 0 })
			ctx := context.Background()
			in := txTexts[1]
			r, err := m.Predict(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Evidence) == 0 || len(r.Evidence) > 3 {
				t.Fatalf("evidence %+v: want 1 to 3 words (occlusion_top_k 3)", r.Evidence)
			}
			runes := []rune(in.Text)
			words := occlusionWords(runes)
			p := func(text string) float64 {
				t.Helper()
				q, err := plain.Predict(ctx, Input{Text: text, Lang: in.Lang})
				if err != nil {
					t.Fatal(err)
				}
				return q.Scores.Get(r.Label)
			}
			for _, e := range r.Evidence {
				if !slices.Contains(words, [2]int{e.Start, e.End}) || e.Text != string(runes[e.Start:e.End]) {
					t.Errorf("evidence %+v is not a word of the text", e)
				}
				want := r.Scores.Get(r.Label) - p(withoutEvidence(runes, []Evidence{e}))
				if math.Abs(e.Weight-want) > 1e-5 || e.Weight <= 0 {
					t.Errorf("evidence %q weighs %.6f, want the probability drop %.6f", e.Text, e.Weight, want)
				}
			}
			if want := r.Scores.Get(r.Label) - p(withoutEvidence(runes, r.Evidence)); math.Abs(r.Comprehensiveness-want) > 1e-5 {
				t.Errorf("comprehensiveness %.6f, want %.6f", r.Comprehensiveness, want)
			}
			if want := p(onlyEvidence(r.Evidence)); math.Abs(r.Sufficiency-want) > 1e-5 {
				t.Errorf("sufficiency %.6f, want %.6f", r.Sufficiency, want)
			}
			off, err := plain.Predict(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(off.Evidence) != 0 || off.Comprehensiveness != 0 || off.Sufficiency != 0 {
				t.Errorf("occlusion off: evidence %+v comprehensiveness %v sufficiency %v, want none", off.Evidence, off.Comprehensiveness, off.Sufficiency)
			}
		})
	}
}

// TestTransformerBadInput: empty text, an unknown language, a language the model lacks fail
// alone, naming the problem; a text longer than the context is truncated to it.
func TestTransformerBadInput(t *testing.T) {
	for _, name := range []string{"random-cls", "random-s2s"} {
		t.Run(name, func(t *testing.T) {
			m := openTx(t, name, func(o *Options) {
				o.Detector = DetectorFunc(func(string) (string, bool) { return "", false })
			})
			long := Input{Lang: "en", Text: strings.Repeat("pain ", 5000)}
			ins := []Input{{Lang: "en", Text: "  "}, {Lang: "xx", Text: "hello"}, {Text: "???"}, long, txTexts[1]}
			rs, errs, err := m.PredictBatch(context.Background(), ins)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []string{"empty text", `language "xx"`, "cannot tell the language"} {
				var ie *InputError
				if errs[i] == nil || !strings.Contains(errs[i].Error(), want) || !errors.As(errs[i], &ie) {
					t.Errorf("%q: err = %v (%T), want an *InputError saying %q", ins[i].Text, errs[i], errs[i], want)
				}
			}
			for _, i := range []int{3, 4} {
				if errs[i] != nil {
					t.Fatalf("%.30q: %v", ins[i].Text, errs[i])
				}
				checkResult(t, ins[i], rs[i])
			}
			ids, err := m.encode(long.Text, "en")
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != m.spec.MaxInputTokens {
				t.Errorf("the long text has %d ids, want max_input_tokens %d", len(ids), m.spec.MaxInputTokens)
			}
		})
	}
}

// TestSeq2SeqBeamSearch: a beam search runs through the KV cache in a batch, and its result does
// not depend on the batch.
func TestSeq2SeqBeamSearch(t *testing.T) {
	m := openTx(t, "random-s2s", func(o *Options) { o.Config.NumBeams = 3; o.Config.OcclusionTopK = 0; o.Config.MaxBatch = 4 })
	ctx := context.Background()
	rs, errs, err := m.PredictBatch(ctx, txTexts)
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range txTexts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		one, err := m.Predict(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if one.Rationale != rs[i].Rationale {
			t.Errorf("%.30q: beam rationale %q alone, %q in a batch", in.Text, one.Rationale, rs[i].Rationale)
		}
	}
}

// TestTransformerManifestMismatch: graphs that do not match the manifest are refused naming the
// field: a num_layers the decoder does not have, labels the classifier's logits do not have.
func TestTransformerManifestMismatch(t *testing.T) {
	copyDir := func(t *testing.T, src string, edit func(map[string]any)) string {
		dir := t.TempDir()
		ents, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.Name() == ManifestFile {
				continue
			}
			if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
		b, err := os.ReadFile(filepath.Join(src, ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		var man map[string]any
		if err := json.Unmarshal(b, &man); err != nil {
			t.Fatal(err)
		}
		edit(man)
		b, _ = json.Marshal(man)
		if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	s2s := txDir(t, "random-s2s")
	dir := copyDir(t, s2s, func(m map[string]any) { m["transformer"].(map[string]any)["num_layers"] = 3 })
	if _, err := Open(dir, txOptions(nil)); err == nil || !strings.Contains(err.Error(), "transformer.num_layers is 3") {
		t.Errorf("num_layers 3 on a 2-layer decoder: err = %v", err)
	}
	dir = copyDir(t, s2s, func(m map[string]any) {
		m["transformer"].(map[string]any)["onnx"].(map[string]any)["decoder_with_past"] = "decoder_model.onnx"
	})
	if _, err := Open(dir, txOptions(nil)); err == nil || !strings.Contains(err.Error(), "transformer.onnx.decoder_with_past") || !strings.Contains(err.Error(), "past_key_values.0.decoder.key") {
		t.Errorf("the decoder without past named as decoder_with_past: err = %v", err)
	}
	cls := txDir(t, "random-cls")
	dir = copyDir(t, cls, func(m map[string]any) {
		m["transformer"].(map[string]any)["onnx"].(map[string]any)["model"] = filepath.Join(s2s, "encoder_model.onnx")
	})
	if _, err := Open(dir, txOptions(nil)); err == nil || !strings.Contains(err.Error(), "transformer.onnx.model") || !strings.Contains(err.Error(), "logits") {
		t.Errorf("an encoder named as the classifier: err = %v", err)
	}
}

// TestTransformerProviders: provider auto settles the provider once for all of a seq2seq model's
// graphs (CUDA, or the CPU with exactly one warning); provider cuda fails saying what to install
// where CUDA cannot be used.
func TestTransformerProviders(t *testing.T) {
	var buf bytes.Buffer
	m := openTx(t, "random-s2s", func(o *Options) {
		o.Config.Provider = ProviderAuto
		o.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	rt := m.rt.(*seq2seqRT)
	if p := rt.enc.provider; rt.dec.provider != p || rt.past.provider != p || m.Info().Provider != p {
		t.Fatalf("providers: encoder %s, decoder %s, decoder with past %s", p, rt.dec.provider, rt.past.provider)
	}
	// A GPU runner sets SENTIO_REQUIRE_CUDA=1 (see openCUDA): auto falling back to the CPU there
	// is CUDA not working, not a machine without it.
	if os.Getenv("SENTIO_REQUIRE_CUDA") != "" && m.Info().Provider != ProviderCUDA {
		t.Fatalf("SENTIO_REQUIRE_CUDA is set but provider auto chose %s:\n%s", m.Info().Provider, buf.String())
	}
	warnings := strings.Count(buf.String(), "level=WARN")
	if m.Info().Provider == ProviderCPU && warnings != 1 {
		t.Errorf("auto fell back to the CPU with %d warnings, want 1:\n%s", warnings, buf.String())
	}
	if _, err := m.Predict(context.Background(), txTexts[1]); err != nil {
		t.Fatal(err)
	}
	if m.Info().Provider == ProviderCUDA {
		return
	}
	_, err := Open(txDir(t, "random-s2s"), txOptions(func(o *Options) { o.Config.Provider = ProviderCUDA }))
	if err == nil || !strings.Contains(err.Error(), "reasoning.provider") || !strings.Contains(err.Error(), "CUDA") {
		t.Errorf("provider cuda without CUDA: err = %v", err)
	}
}
