package reasoning

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ManifestFile is the name of the manifest inside a model directory.
const ManifestFile = "model.json"

// Manifest is a model directory's model.json: what kind of model it is and everything the runtime
// of that kind needs to run it exactly as it was trained. Fields a kind does not use are kept raw.
type Manifest struct {
	// Kind names the runtime that serves the model, e.g. "ngram-classifier".
	Kind string `json:"kind"`
	// Version is the model's version.
	Version string `json:"version"`
	// Labels are the classes in the order of the graph's outputs.
	Labels []string `json:"labels"`
	// Languages are the ISO 639-1 codes the model was trained on.
	Languages []string `json:"languages"`
	// Features is the feature specification, parsed by the reasoning/features package.
	Features json.RawMessage `json:"features"`
	// ONNX names the graph file and its input and output names.
	ONNX ONNXSpec `json:"onnx"`
	// Rationale names the rationale index and how it is used.
	Rationale RationaleSpec `json:"rationale"`
	// Evidence is the rule that selects evidence features from their contributions.
	Evidence json.RawMessage `json:"evidence"`
	// Provenance says how the model was made (data, command, seed, commit, time).
	Provenance json.RawMessage `json:"provenance"`
	// Metrics are the model's measured scores.
	Metrics json.RawMessage `json:"metrics"`
	// LLM holds the prompt resources of the "llm" kind (LLMSpec).
	LLM json.RawMessage `json:"llm"`
	// Transformer describes the graphs, tokenizer and output format of the "encoder-classifier"
	// and "seq2seq" kinds (TransformerSpec).
	Transformer json.RawMessage `json:"transformer"`

	// Dir is the directory the manifest was read from (not part of the file).
	Dir string `json:"-"`
	// Path is the manifest's path (not part of the file).
	Path string `json:"-"`
}

// ONNXSpec names an ONNX graph file and maps the roles the runtime knows to the graph's tensor names.
type ONNXSpec struct {
	// File is the graph file, relative to the model directory.
	File string `json:"file"`
	// Inputs maps input roles ("ids", "values") to tensor names.
	Inputs map[string]string `json:"inputs"`
	// Outputs maps output roles ("probs", "contributions") to tensor names.
	Outputs map[string]string `json:"outputs"`
}

// RationaleSpec names the rationale resource of a model.
type RationaleSpec struct {
	// File is the rationale index, relative to the model directory.
	File string `json:"file"`
	// Method says how a rationale is chosen (e.g. "retrieval").
	Method string `json:"method"`
}

// ReadManifest reads dir/model.json. It checks only what every kind needs (a kind); the runtime of
// the kind checks the rest.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reasoning: no model manifest at %s: set reasoning.model_dir (or --model-dir) to a model directory such as models/reasoning", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reasoning: reading the model manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("reasoning: model manifest %s is not valid JSON: %w", path, err)
	}
	m.Dir, m.Path = dir, path
	if m.Kind == "" {
		return nil, fmt.Errorf("reasoning: model manifest %s has no \"kind\" (supported kinds: %s)", path, kindList())
	}
	return &m, nil
}

// file returns the path of a file named in the manifest, relative to the model directory.
func (m *Manifest) file(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(m.Dir, name)
}
