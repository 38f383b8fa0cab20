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
// The "llm" kind (models/llm) asks a language model behind an OpenAI-compatible chat-completions
// endpoint (reasoning.llm; the reasoning/llm package builds the prompt, constrains and parses the
// answer and reads label scores from log-probabilities): one request per text, at most
// max_concurrent in flight, retried with backoff, behind a circuit breaker, and what fails is
// answered by the fallback model (reasoning.llm.fallback_dir), which Result.Model then names. Its
// results have no evidence, and no scores (NoScores) when the endpoint gives no log-probabilities.
//
// Another kind is added as a file that implements Model and an entry for its opener in kinds
// (model.go).
package reasoning
