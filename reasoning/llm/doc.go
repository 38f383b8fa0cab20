// Package llm asks a decoder language model, served behind an OpenAI-compatible chat-completions
// endpoint (llama.cpp's llama-server, vLLM, Ollama), for the sentiment label and rationale of an
// utterance, as in Sentiment Reasoning for Healthcare (arXiv 2407.21054).
//
// A request holds the task (the three labels, a short rationale in the utterance's language),
// few-shot examples from the training data in the same language, optionally the previous
// utterances of the call as context, and the utterance. The answer is constrained by a JSON schema
// (response_format json_schema, which llama-server and vLLM turn into a grammar) to an object with
// "label" and "rationale"; an answer that still does not parse is an error (ErrMalformed). When
// the server returns token log-probabilities, the probability of each label is read from the
// tokens of the label (LabelScores); otherwise the answer has none.
//
// The package speaks HTTP and JSON itself (net/http, encoding/json): the request is one small
// JSON document with server-specific fields (top_logprobs on a constrained answer), and retries,
// timeouts and the circuit breaker belong to the caller (package reasoning's "llm" kind).
package llm
