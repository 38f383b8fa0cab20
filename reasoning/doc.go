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
// The transformer kinds run Hugging Face models exported to ONNX (models/transformer/convert.py
// writes the directory; the manifest's "transformer" object, TransformerSpec, describes graphs,
// tokenizer, lengths and output format, and every missing or mismatched file or field is refused
// naming it). Both tokenize with the reasoning/tokenize package (a SentencePiece model or a
// tokenizer.json), truncate to transformer.max_input_tokens, and gather concurrent requests into
// micro-batches as above; a batch's rows are sorted by length and cut into buckets of at most
// reasoning.max_batch rows, each padded only to its own longest with attention masks, so memory
// is bounded by max_batch × max_input_tokens per ONNX Runtime call. Sessions run on the CPU or
// CUDA as for the n-gram kind (auto falls back with one warning), reasoning.threads intra-op
// threads each.
//
//   - "encoder-classifier" (BERT, RoBERTa, XLM-R, PhoBERT ...): one graph, input_ids and
//     attention_mask (token_type_ids zero when the graph has it) in, logits out; the scores are
//     their softmax, mapped through the manifest's labels (the logits' columns). No rationale
//     (RationaleSource "none").
//   - "seq2seq" (T5, mT5, ViT5, BART, mBART, BARTpho ...), in Hugging Face Optimum's layout: the
//     encoder runs once per text; the decoder without past runs over the three label prefixes of
//     every text of a bucket at once ([decoder_start] + the ids of label string and separator,
//     transformer.output.label_ids), a label's log-probability is the sum of its ids'
//     log-probabilities, and the scores are the softmax of the three; the rationale is then
//     generated after the chosen label's prefix by the decoder with past, one id per step for the
//     bucket's texts together, its key/value cache the scoring run's cut to the prefix: greedy, or
//     a beam search (reasoning.num_beams, else transformer.num_beams) exactly as transformers'
//     generate (length_penalty 1.0, early_stopping False; no logits processors), up to
//     transformer.max_output_tokens new ids. RationaleSource "generated".
//
// Their evidence is measured by occlusion (reasoning.occlusion_top_k; 0 turns it off): each word
// of the text (the n-gram kind's words: runs of letters, marks and digits, each CJK character
// alone; at most max_input_tokens of them) is dropped in turn and the label's probability
// measured again, all variants of a micro-batch's texts in one batched run; the evidence are the
// top-k words whose removal lowers it, each weighing that drop (Evidence.Weight is a probability
// drop here, not a logit contribution), and comprehensiveness and sufficiency are measured on
// them as for the n-gram kind (the text without the evidence, the evidence alone: one more run).
// Without occlusion the results carry no evidence, comprehensiveness or sufficiency.
//
// Another kind is added as a file that implements Model and an entry for its opener in kinds
// (model.go).
package reasoning
