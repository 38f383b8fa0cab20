package reasoning

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// The manifest kinds of the transformer runtimes.
const (
	// KindEncoderClassifier is a Hugging Face sequence-classification model (BERT, RoBERTa,
	// XLM-R, PhoBERT ...) exported to one ONNX graph: input_ids and attention_mask in, one logit
	// per label out.
	KindEncoderClassifier = "encoder-classifier"
	// KindSeq2Seq is an encoder-decoder (T5, mT5, ViT5, BART, mBART, BARTpho ...) exported as
	// Hugging Face Optimum does (encoder, decoder, decoder with past key values), fine-tuned to
	// generate "<label><separator><rationale>".
	KindSeq2Seq = "seq2seq"
)

// convertHelp says how a model directory of the transformer kinds is made.
const convertHelp = "make the model directory with models/transformer/convert.py (README: \"Bring your own transformer model\")"

// TransformerSpec is the "transformer" object of an encoder-classifier or seq2seq manifest.
type TransformerSpec struct {
	// Architecture is the Hugging Face model class the graphs were exported from (informative).
	Architecture string `json:"architecture"`
	// Tokenizer says which tokenizer file the runtime uses and how (the reasoning/tokenize
	// package reads it).
	Tokenizer json.RawMessage `json:"tokenizer"`
	// MaxInputTokens is the most ids the encoder reads, special tokens included; longer inputs
	// are truncated to it.
	MaxInputTokens int `json:"max_input_tokens"`
	// PadID is the id that pads a batch row.
	PadID int64 `json:"pad_id"`
	// ONNX names the graph files.
	ONNX TransformerONNX `json:"onnx"`
	// NumLayers, NumHeads and HeadDim are the decoder's dimensions, for the key/value cache
	// (seq2seq).
	NumLayers int `json:"num_layers"`
	NumHeads  int `json:"num_heads"`
	HeadDim   int `json:"head_dim"`
	// DecoderStartID is the first decoder id (seq2seq).
	DecoderStartID *int64 `json:"decoder_start_id"`
	// EOSID ends a generated sequence (seq2seq).
	EOSID *int64 `json:"eos_id"`
	// MaxOutputTokens bounds the ids generated after the label and separator, the end of
	// sequence included: transformers' max_new_tokens after that prefix (seq2seq).
	MaxOutputTokens int `json:"max_output_tokens"`
	// Prompt is the encoder's input: {text} is replaced by the utterance, {lang} by its language
	// (seq2seq; empty: the utterance alone).
	Prompt string `json:"prompt"`
	// Output is the format the model generates (seq2seq).
	Output Seq2SeqOutput `json:"output"`
	// NumBeams is the default search: 1 greedy, more a beam search of that width (seq2seq;
	// reasoning.num_beams overrides it).
	NumBeams int `json:"num_beams"`
}

// TransformerONNX names the graph files of a transformer model, relative to its directory.
type TransformerONNX struct {
	// Model is the encoder-classifier's graph.
	Model string `json:"model"`
	// Encoder, Decoder and DecoderWithPast are the seq2seq graphs.
	Encoder         string `json:"encoder"`
	Decoder         string `json:"decoder"`
	DecoderWithPast string `json:"decoder_with_past"`
}

// Seq2SeqOutput is the generated format "<label string><separator><rationale>".
type Seq2SeqOutput struct {
	// LabelStrings maps each label (negative, neutral, positive) to the string the model
	// generates for it.
	LabelStrings map[string]string `json:"label_strings"`
	// Separator comes between the label string and the rationale.
	Separator string `json:"separator"`
	// LabelIDs are the decoder ids of each label string followed by the separator (the
	// tokenizer's, without special tokens), as convert.py writes them: the sequence scored for
	// each label after decoder_start_id. When absent the runtime tokenizes label string and
	// separator itself.
	LabelIDs map[string][]int64 `json:"label_ids"`
}

// transformerSpec decodes and checks the manifest's "transformer" object for its kind, and that
// every file it names exists (fields it does not know are left alone: converters may add some). Errors name the manifest,
// the field and what to do.
func transformerSpec(m *Manifest) (*TransformerSpec, error) {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("reasoning: model %s: transformer.%s %s", m.Path, field, fmt.Sprintf(format, args...))
	}
	if len(m.Transformer) == 0 || string(m.Transformer) == "null" {
		return nil, fmt.Errorf("reasoning: model %s has kind %q but no \"transformer\" object; %s", m.Path, m.Kind, convertHelp)
	}
	var s TransformerSpec
	if err := json.Unmarshal(m.Transformer, &s); err != nil {
		return nil, fmt.Errorf("reasoning: model %s: \"transformer\" does not decode: %v", m.Path, err)
	}
	if err := checkLabelSet(m); err != nil {
		return nil, err
	}
	if len(m.Languages) == 0 {
		return nil, fmt.Errorf("reasoning: model %s lists no \"languages\" (the ISO 639-1 codes it was trained on, e.g. [\"vi\", \"en\"])", m.Path)
	}
	if len(s.Tokenizer) == 0 || string(s.Tokenizer) == "null" {
		return nil, bad("tokenizer", "is missing: it names the tokenizer file (tokenizer.json or spiece.model) and its type; %s", convertHelp)
	}
	var tok struct {
		File string `json:"file"`
	}
	if err := json.Unmarshal(s.Tokenizer, &tok); err != nil {
		return nil, bad("tokenizer", "does not decode: %v", err)
	}
	if tok.File == "" {
		return nil, bad("tokenizer.file", "is empty (allowed: tokenizer.json or spiece.model in the model directory)")
	}
	if err := m.checkFile("tokenizer.file", tok.File); err != nil {
		return nil, err
	}
	if s.MaxInputTokens < 2 {
		return nil, bad("max_input_tokens", "is %d (allowed: the encoder's context in ids, special tokens included, at least 2; e.g. 256 or 512)", s.MaxInputTokens)
	}
	if s.PadID < 0 {
		return nil, bad("pad_id", "is %d (allowed: the tokenizer's padding id, 0 or more)", s.PadID)
	}
	switch m.Kind {
	case KindEncoderClassifier:
		if s.ONNX.Model == "" {
			return nil, bad("onnx.model", "is empty (allowed: the classifier's graph, e.g. model.onnx); %s", convertHelp)
		}
		if err := m.checkFile("onnx.model", s.ONNX.Model); err != nil {
			return nil, err
		}
	case KindSeq2Seq:
		if err := s.checkSeq2Seq(m, bad); err != nil {
			return nil, err
		}
	}
	return &s, nil
}

func (s *TransformerSpec) checkSeq2Seq(m *Manifest, bad func(field, format string, args ...any) error) error {
	for _, f := range []struct{ field, name, example string }{
		{"onnx.encoder", s.ONNX.Encoder, "encoder_model.onnx"},
		{"onnx.decoder", s.ONNX.Decoder, "decoder_model.onnx"},
		{"onnx.decoder_with_past", s.ONNX.DecoderWithPast, "decoder_with_past_model.onnx"},
	} {
		if f.name == "" {
			return bad(f.field, "is empty (allowed: the graph Hugging Face Optimum writes as %s); %s", f.example, convertHelp)
		}
		if err := m.checkFile(f.field, f.name); err != nil {
			return err
		}
	}
	for _, d := range []struct {
		field string
		v     int
	}{{"num_layers", s.NumLayers}, {"num_heads", s.NumHeads}, {"head_dim", s.HeadDim}} {
		if d.v <= 0 {
			return bad(d.field, "is %d (allowed: the decoder's %s from the checkpoint's config.json, above 0)", d.v, strings.ReplaceAll(d.field, "_", " "))
		}
	}
	if s.DecoderStartID == nil || *s.DecoderStartID < 0 {
		return bad("decoder_start_id", "is missing (allowed: the checkpoint's decoder_start_token_id, e.g. 0 for T5)")
	}
	if s.EOSID == nil || *s.EOSID < 0 {
		return bad("eos_id", "is missing (allowed: the checkpoint's eos_token_id, e.g. 1 for T5)")
	}
	if s.MaxOutputTokens < 1 {
		return bad("max_output_tokens", "is %d (allowed: the most ids generated after the label and separator, at least 1; e.g. 48)", s.MaxOutputTokens)
	}
	if s.NumBeams < 0 {
		return bad("num_beams", "is %d (allowed: 1 for greedy search, more for a beam search, or 0 for 1)", s.NumBeams)
	}
	if s.Prompt != "" && !strings.Contains(s.Prompt, "{text}") {
		return bad("prompt", "%q has no {text} (allowed: a template holding {text}, the utterance, and optionally {lang})", s.Prompt)
	}
	o := s.Output
	for _, l := range Labels {
		if strings.TrimSpace(o.LabelStrings[l]) == "" {
			return bad("output.label_strings", "has no string for %q (allowed: one non-empty string per label, e.g. {\"negative\": \"negative\", ...})", l)
		}
	}
	if len(o.LabelStrings) != len(Labels) {
		return bad("output.label_strings", "has %d entries; want exactly the labels %q", len(o.LabelStrings), Labels)
	}
	if o.LabelIDs != nil {
		for _, l := range Labels {
			if len(o.LabelIDs[l]) == 0 {
				return bad("output.label_ids", "has no ids for %q (allowed: the decoder ids of each label string, or no label_ids at all)", l)
			}
		}
		if len(o.LabelIDs) != len(Labels) {
			return bad("output.label_ids", "has %d entries; want exactly the labels %q", len(o.LabelIDs), Labels)
		}
	}
	if s.NumBeams == 0 {
		s.NumBeams = 1
	}
	return nil
}

// checkLabelSet checks that the manifest's labels are the three labels, in any order.
func checkLabelSet(m *Manifest) error {
	if len(m.Labels) != len(Labels) {
		return fmt.Errorf("reasoning: model %s has labels %q; want the three labels %q (in the order of the graph's logits)", m.Path, m.Labels, Labels)
	}
	for _, l := range Labels {
		if !slices.Contains(m.Labels, l) {
			return fmt.Errorf("reasoning: model %s has labels %q; want the three labels %q (in the order of the graph's logits)", m.Path, m.Labels, Labels)
		}
	}
	return nil
}

// checkFile checks that the file a manifest field names exists in the model directory.
func (m *Manifest) checkFile(field, name string) error {
	_, err := os.Stat(m.file(name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reasoning: model %s: transformer.%s names %s, which is not in %s: copy the whole model directory, or %s", m.Path, field, name, m.Dir, convertHelp)
	}
	if err != nil {
		return fmt.Errorf("reasoning: model %s: transformer.%s: %w", m.Path, field, err)
	}
	return nil
}
