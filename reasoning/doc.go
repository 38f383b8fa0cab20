// Package reasoning runs sentio's sentiment reasoning models: for a text in one of the five
// languages it gives a label (negative, neutral, positive) with a probability per label, a
// rationale phrase in the text's language, the evidence spans of the text that drove the label,
// and two faithfulness scores of that evidence (comprehensiveness and sufficiency).
//
// A model is a directory holding a manifest (model.json) that names its kind. Open reads the
// manifest and builds the runtime of that kind; the kinds this build supports are listed by Kinds.
// The "ngram-classifier" kind runs an ONNX graph over hashed n-gram features (see the
// reasoning/features package) with ONNX Runtime, gathering concurrent requests into micro-batches.
package reasoning
