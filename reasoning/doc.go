// Package reasoning runs sentio's sentiment reasoning models: for a text in one of the five
// languages it gives a label (negative, neutral, positive) with a probability per label, a
// rationale phrase in the text's language, the evidence spans of the text that drove the label,
// and two faithfulness scores of that evidence (comprehensiveness and sufficiency).
//
// A model is a directory holding a manifest (model.json) that names its kind. Open reads the
// manifest and builds the runtime of that kind behind the Model interface; a kind this build does
// not know is refused with an error naming it, the manifest and the supported kinds (Kinds).
//
// The "ngram-classifier" kind runs an ONNX graph over hashed n-gram features (the
// reasoning/features package) with ONNX Runtime through onnxruntime_go: one session per model,
// created once, on the CPU or CUDA (reasoning.provider), with concurrent requests gathered into
// micro-batches (reasoning.max_batch, reasoning.max_wait). Its evidence is exact: the graph gives
// each feature's additive contribution to each label's logit. The rationale is retrieved from the
// annotators' rationales (the reasoning/rationale package).
//
// Another kind (a generative "seq2seq" model that writes the label and then the rationale) is
// added as a file that implements Model and an entry for its opener in kinds (model.go), beside
// "ngram-classifier"'s.
package reasoning
