// Package config declares sentio's configuration: one struct tree whose field comments are the
// user documentation, with defaults, loading (YAML file, SENTIO_* environment, flags) and
// validation kept beside it.
package config

import "time"

// Config is the whole configuration of a sentio process.
type Config struct {
	// NATS says how sentio reaches NATS JetStream and which streams and subjects it uses.
	NATS NATS `yaml:"nats"`
	// Pipeline sizes the stage worker pools and the queues between them.
	Pipeline Pipeline `yaml:"pipeline"`
	// ASR configures speech recognition with whisper.cpp.
	ASR ASR `yaml:"asr"`
	// LangID configures language identification.
	LangID LangID `yaml:"langid"`
	// Reasoning configures the sentiment reasoning model.
	Reasoning Reasoning `yaml:"reasoning"`
	// Redact configures the redaction of personal and health identifiers in results.
	Redact Redact `yaml:"redact"`
	// Alerts configures real-time alerts on the results of each call.
	Alerts Alerts `yaml:"alerts"`
	// Log configures the process log.
	Log Log `yaml:"log"`
	// HTTP configures the health, metrics and console endpoint.
	HTTP HTTP `yaml:"http"`
	// StateDir holds the embedded NATS server's JetStream store and other local state.
	StateDir string `yaml:"state_dir"`
	// ShutdownTimeout bounds the graceful drain on SIGTERM; work still running after it is
	// abandoned unacked (it is redelivered later).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`

	// sources records where each key's value came from, for error messages.
	sources map[string]Source
}

// NATS is the connection to NATS and the names of streams, subjects and consumers.
type NATS struct {
	// Embedded runs a NATS server with JetStream inside the process (single-machine mode), with
	// its store under state_dir. When false, sentio connects to the server(s) named by url.
	Embedded bool `yaml:"embedded"`
	// Listen is the embedded server's client address, so other tools can connect.
	Listen string `yaml:"listen"`
	// URL is the server (or comma-separated servers of a cluster) to connect to when embedded is
	// false, e.g. nats://nats1:4222,nats://nats2:4222. sentio reconnects forever when it is lost.
	// A password or token in it is printed as REDACTED.
	URL string `yaml:"url"`
	// EmbeddedAuth makes the embedded server require credentials: sentio generates nkeys for
	// the users daemon, publisher and subscriber into state_dir/auth on first start (see
	// "Embedded NATS security" in README.md). false lets any client in without credentials, with
	// full access, and is allowed only with a loopback listen address.
	EmbeddedAuth bool `yaml:"embedded_auth"`
	// Creds is a NATS credentials file (JWT and nkey seed), for an external server (the
	// embedded one makes its own credentials).
	Creds string `yaml:"creds"`
	// NKey is an nkey seed file, for an external server.
	NKey string `yaml:"nkey"`
	// User is the user name, with password, for user and password authentication to an external
	// server.
	User string `yaml:"user"`
	// Password is the password of user.
	Password string `yaml:"password" secret:"true"`
	// Token authenticates with a token to an external server.
	Token string `yaml:"token" secret:"true"`
	// TLS configures TLS to an external server, or the embedded server's listener.
	TLS TLS `yaml:"tls"`
	// Replicas is the replica count of the streams and the object store bucket sentio creates (1
	// or 3 or 5 in a cluster).
	Replicas int `yaml:"replicas"`
	// AudioStream is the JetStream stream holding input audio.
	AudioStream string `yaml:"audio_stream"`
	// AudioSubject is the subject prefix of input audio: <prefix>.<call_id>.
	AudioSubject string `yaml:"audio_subject"`
	// ResultStream is the JetStream stream holding results.
	ResultStream string `yaml:"result_stream"`
	// ResultSubject is the subject prefix of results: <prefix>.<call_id>.
	ResultSubject string `yaml:"result_subject"`
	// DLQStream is the JetStream stream holding rejected input.
	DLQStream string `yaml:"dlq_stream"`
	// DLQSubject is the subject prefix of rejects: <prefix>.<call_id>.
	DLQSubject string `yaml:"dlq_subject"`
	// EventSubject is the subject prefix of alert events: <prefix>.<call_id> (see alerts.rules).
	// Events are kept in the results stream, beside the results.
	EventSubject string `yaml:"event_subject"`
	// Consumer is the name prefix of the durable consumers shared by all sentio instances: calls
	// are spread over 8 partitions of the audio stream, each with its own consumer, named with
	// this prefix and -p0 ... -p7 (sentio-p0 ... sentio-p7 by default) and pinned to one instance
	// at a time.
	Consumer string `yaml:"consumer"`
	// MaxDeliver is how many deliveries of a message may fail before it goes to the DLQ
	// (max_deliveries). Deliveries cut short by a crash, a kill or a restart do not count; a
	// message that never settles (it crashes the daemon each time) goes to the DLQ after 4 times
	// as many deliveries (at least max_deliver + 10).
	MaxDeliver int `yaml:"max_deliver"`
	// AckWait is how long JetStream waits for an ack (or an in-progress signal) before redelivery.
	AckWait time.Duration `yaml:"ack_wait"`
	// MaxAckPending bounds the unacknowledged messages in flight on each partition consumer (calls
	// are spread over 8 partitions; the bound is shared by the instances consuming a partition).
	// Stream-mode chunks stay unacked until the utterances using them are published, so it must
	// be at least twice pipeline.max_call_chunks: one call at its bound cannot stall a partition.
	MaxAckPending int `yaml:"max_ack_pending"`
	// MaxAge is how long the results stream keeps results, summaries and alert events (0 keeps
	// them until max_bytes applies).
	MaxAge time.Duration `yaml:"max_age"`
	// AudioMaxAge is how long the audio stream, and the object store bucket of large clips, keep
	// audio, acked or not (0: until max_bytes applies). Audio is health data: acked audio is not
	// needed by sentio, so keep this short, but longer than the worst backlog, since audio not
	// processed by then is lost. A full audio stream refuses new audio (publishers get an error)
	// rather than dropping audio not yet processed.
	AudioMaxAge time.Duration `yaml:"audio_max_age"`
	// DLQMaxAge is how long the DLQ stream keeps its entries (0: until max_bytes applies). An
	// entry carries the rejected input, audio included, so this is also how long rejected audio
	// is kept: long enough for an operator to look at the reason and republish, no longer.
	DLQMaxAge time.Duration `yaml:"dlq_max_age"`
	// MaxBytes bounds the size in bytes of each stream and of the object store bucket (-1 for no
	// limit).
	MaxBytes int64 `yaml:"max_bytes"`
	// DedupeWindow is how long the results stream remembers result ids (Nats-Msg-Id, the
	// utterance id) and drops a result published again, as a replay after a crash does. A replay
	// later than that (an input redelivered after a long backlog) is checked against the call's
	// published results instead, which costs a read of them: keep the window above the usual
	// time from an input's arrival to its ack.
	DedupeWindow time.Duration `yaml:"dedupe_window"`
	// MaxObjectBytes is the largest clip read from the object store (bucket sentio-audio), checked
	// against the object's size before it is read; a larger one is rejected as too_large.
	MaxObjectBytes int64 `yaml:"max_object_bytes"`
}

// TLS configures TLS for the NATS connection. With the embedded server, cert and key are its
// listener's certificate: clients must then connect with TLS (tls://), and sentio publish and
// sentio tail trust ca (or, without ca, the certificate itself).
type TLS struct {
	// CA is a PEM file of certificate authorities to trust.
	CA string `yaml:"ca"`
	// Cert is the client certificate (PEM) for mutual TLS with an external server, or the
	// embedded server's certificate.
	Cert string `yaml:"cert"`
	// Key is the key (PEM) of cert.
	Key string `yaml:"key"`
}

// Pipeline sizes the workers and queues of the stages.
type Pipeline struct {
	// SegmentWorkers is the number of segmenter workers (stream mode).
	SegmentWorkers int `yaml:"segment_workers"`
	// ASRWorkers is the number of concurrent whisper.cpp workers, each with its own state. For
	// throughput, one per CPU core with asr.threads 1 (README: Performance, sizing).
	ASRWorkers int `yaml:"asr_workers"`
	// ReasonWorkers is the number of concurrent reasoning workers.
	ReasonWorkers int `yaml:"reason_workers"`
	// QueueSize is the capacity of the queue in front of each stage.
	QueueSize int `yaml:"queue_size"`
	// MaxUtterance is the longest utterance the segmenter emits before it cuts.
	MaxUtterance time.Duration `yaml:"max_utterance"`
	// IdleFlush flushes a stream-mode call that has received no audio for this long.
	IdleFlush time.Duration `yaml:"idle_flush"`
	// MaxCallChunks bounds the chunks one stream-mode call holds unacked in the segmenter (the
	// utterance being spoken, chunks waiting for a missing one, a call held after a takeover). A
	// call at the bound is cut there (an utterance ends early) or, if it waits for a missing
	// chunk, the chunk is declared lost (a sequence_gap DLQ entry); the rest of its audio goes on.
	// The segment workers together hold at most half of nats.max_ack_pending: past that, the call
	// holding the most is cut. The default covers a whole utterance (pipeline.max_utterance) sent
	// in 10 ms chunks.
	MaxCallChunks int `yaml:"max_call_chunks"`
	// MaxCalls bounds the stream-mode calls one instance keeps in memory. A chunk of a new call
	// beyond it fails and is redelivered later (and reaches the DLQ after nats.max_deliver
	// such failures): size it above the calls an instance serves at once.
	MaxCalls int `yaml:"max_calls"`
}

// ASR configures whisper.cpp.
type ASR struct {
	// Model is the whisper.cpp ggml model file.
	Model string `yaml:"model"`
	// VADModel is the Silero VAD model in ggml form; empty disables voice activity detection.
	VADModel string `yaml:"vad_model"`
	// Threads is the number of CPU threads per ASR worker; workers × threads should not exceed
	// the CPU cores.
	Threads int `yaml:"threads"`
	// Languages is the set of languages whisper may choose from (ISO 639-1 codes).
	Languages []string `yaml:"languages"`
	// Language forces one language instead of detecting it; empty detects.
	Language string `yaml:"language"`
	// Prompt is whisper's initial prompt for every utterance: custom vocabulary (drug names,
	// clinic names, spellings) that the audio is likely to contain, as a short comma-separated
	// list. A call's Sentio-Prompt header replaces it for that call. Empty: no prompt.
	Prompt string `yaml:"prompt"`
	// UseGPU lets whisper.cpp use a ggml GPU backend when one is installed.
	UseGPU bool `yaml:"use_gpu"`
	// AudioCtx is the encoder's audio context in frames (whisper.cpp's audio_ctx; 1500 is 30 s);
	// 0 uses the model's own. Small models trained for a short context (the bundled one) need
	// their value here; see the model card in models/asr/.
	AudioCtx int `yaml:"audio_ctx"`
	// AdaptiveAudioCtx shortens the encoder's context per utterance to what its audio needs (its
	// length plus 0.64 s, rounded up; at most audio_ctx or the model's), instead of padding every
	// utterance to the whole window: short utterances then cost in proportion to their length,
	// language detection included. Off by default: with the bundled model it saves 3 % and
	// changes no corpus transcript; with official models (30 s window) it makes 3 s utterances
	// 4-6 times faster, but they were trained on whole windows only and what it costs them in
	// accuracy could not be measured here (README, Performance): measure on your audio first.
	AdaptiveAudioCtx bool `yaml:"adaptive_audio_ctx"`
	// GuessLanguage runs language detection on the encoder output of the transcription itself:
	// an utterance is decoded in the language of its call's previous utterance (or the last one
	// detected), then whisper's language probabilities are read from that pass with one decoder
	// step. When the guess holds, detection costs no encoder pass of its own; when it does not,
	// the utterance is decoded again in the detected language. Text and language are the same
	// as with false (detection first, then decoding: two encoder passes). Used when asr.language
	// is empty and the utterance fits one window.
	GuessLanguage bool `yaml:"guess_language"`
	// NoTimestamps decodes without timestamp tokens (whisper-cli -nt): segments then span the
	// whole window. For models trained without timestamps; official whisper models want false.
	NoTimestamps bool `yaml:"no_timestamps"`
	// NoFallback turns off whisper's temperature fallback (whisper-cli -nf): decoding stays
	// greedy at temperature 0 even when the result looks unreliable. Faster and deterministic;
	// official models transcribe hard audio better with the fallback on.
	NoFallback bool `yaml:"no_fallback"`
	// MaxDuration rejects input audio longer than this before it is decoded in full; 0 means
	// 10 minutes.
	MaxDuration time.Duration `yaml:"max_duration"`
	// CallTimeout is the deadline of one whisper.cpp call (one utterance), which cannot be
	// cancelled: a call running longer marks its worker hung, /readyz turns false and the systemd
	// watchdog is no longer fed, so systemd restarts sentio (the utterance's input is redelivered,
	// not rejected). 0 disables the deadline.
	CallTimeout time.Duration `yaml:"call_timeout"`
	// WordTimings puts each word of a transcript with its times into results (words), from
	// whisper.cpp's DTW alignment; it makes transcription slower (the bundled model: 1.5 times,
	// BenchmarkWordTimings in asr). false leaves words out.
	WordTimings bool `yaml:"word_timings"`
}

// LangID configures language identification.
type LangID struct {
	// Languages is the set of languages identified (ISO 639-1 codes); others are unsupported.
	Languages []string `yaml:"languages"`
	// MinChars is the shortest text lingua-go decides on alone; shorter text defers to whisper.
	MinChars int `yaml:"min_chars"`
	// WhisperWeight is the weight of whisper's language probabilities when fused with lingua's (0..1).
	WhisperWeight float64 `yaml:"whisper_weight"`
}

// Reasoning configures the sentiment reasoning model.
type Reasoning struct {
	// ModelDir is the directory holding model.json and the ONNX graph.
	ModelDir string `yaml:"model_dir"`
	// Provider is the ONNX Runtime execution provider: cpu, cuda or auto.
	Provider string `yaml:"provider"`
	// Threads is ONNX Runtime's intra-op thread count; 0 lets ONNX Runtime choose.
	Threads int `yaml:"threads"`
	// MaxBatch is the largest micro-batch of texts run together.
	MaxBatch int `yaml:"max_batch"`
	// MaxWait is how long a request waits for others to fill a batch.
	MaxWait time.Duration `yaml:"max_wait"`
	// ORTLibrary is the ONNX Runtime shared library: a file name searched in the system library
	// path, or a path.
	ORTLibrary string `yaml:"ort_library"`
	// CallTimeout is the deadline of one reasoning call (waiting for its batch included), which
	// cannot be cancelled inside ONNX Runtime: a call running longer marks its worker hung, /readyz
	// turns false and the systemd watchdog is no longer fed, so systemd restarts sentio (the
	// input is redelivered, not rejected). 0 disables the deadline.
	CallTimeout time.Duration `yaml:"call_timeout"`
	// OcclusionTopK is how many words of evidence the transformer kinds (encoder-classifier,
	// seq2seq) give: each word of the utterance is dropped in turn and the label's probability
	// measured again, in one batched run per utterance, which costs a forward pass per word;
	// the words whose drop lowers it most are the evidence. 0 turns it off (no evidence, and no
	// comprehensiveness or sufficiency). The ngram-classifier's evidence is exact and free and
	// does not use it.
	OcclusionTopK int `yaml:"occlusion_top_k"`
	// NumBeams is the seq2seq kind's search for the rationale: 1 greedy, more a beam search of
	// that width; 0 uses the model's own (its manifest's transformer.num_beams).
	NumBeams int `yaml:"num_beams"`
	// LLM configures the "llm" model kind (models/llm): sentiment reasoning by a language model
	// behind an OpenAI-compatible chat-completions endpoint (llama-server, vLLM, Ollama). It is
	// used when model_dir holds an llm manifest. Utterances (patient speech) go to url and nowhere
	// else.
	LLM LLM `yaml:"llm"`
}

// LLM configures the endpoint of the "llm" reasoning kind, its limits and its fallback.
type LLM struct {
	// URL is the API base of the OpenAI-compatible endpoint, e.g. http://gpu1:8080/v1 (requests
	// go to <url>/chat/completions). Use https:// when it is not on the same machine.
	URL string `yaml:"url"`
	// Model is the model name sent with each request (vLLM and Ollama serve by name;
	// llama-server ignores it).
	Model string `yaml:"model"`
	// APIKey is sent as a bearer token (llama-server --api-key, vLLM --api-key). Never printed
	// or logged; prefer SENTIO_REASONING_LLM_API_KEY to the configuration file.
	APIKey string `yaml:"api_key" secret:"true"`
	// TLS configures TLS to an https:// url.
	TLS LLMTLS `yaml:"tls"`
	// Timeout bounds one request; an endpoint slower than that is not waited for again: the
	// utterance goes to the fallback model.
	Timeout time.Duration `yaml:"timeout"`
	// MaxConcurrent is the most requests in flight to the endpoint at once (raise
	// pipeline.reason_workers to use them).
	MaxConcurrent int `yaml:"max_concurrent"`
	// Retries is how many times a request refused by the network or answered 429 or 5xx is sent
	// again, after retry_backoff, doubling each time.
	Retries int `yaml:"retries"`
	// RetryBackoff is the wait before the first retry.
	RetryBackoff time.Duration `yaml:"retry_backoff"`
	// BreakerFailures is how many requests failing in a row (unreachable, timed out, 429 or 5xx
	// after their retries) open the circuit breaker: while it is open, utterances go straight to
	// the fallback model.
	BreakerFailures int `yaml:"breaker_failures"`
	// BreakerOpen is how long the breaker stays open before one request tries the endpoint again.
	BreakerOpen time.Duration `yaml:"breaker_open"`
	// FallbackDir is the model directory that answers when the endpoint is down, slow past
	// timeout, its answer malformed or the breaker open (the result's models.reasoning names
	// it). Empty: no fallback, the utterance fails and its input is retried (then DLQ).
	FallbackDir string `yaml:"fallback_dir"`
	// FewShot is how many training examples of the utterance's language the prompt shows (at
	// most the model directory's, 6 per language in models/llm).
	FewShot int `yaml:"few_shot"`
	// ContextUtterances is how many previous utterances of the call (the most recent ones, at
	// most context_chars characters together) the prompt shows as context; 0: none.
	ContextUtterances int `yaml:"context_utterances"`
	// ContextChars bounds the characters of the context utterances.
	ContextChars int `yaml:"context_chars"`
	// TopLogprobs is how many candidate tokens per position the answer's log-probabilities carry;
	// the label scores are read from them. 0 asks for none: results then say scores_available:
	// false.
	TopLogprobs int `yaml:"top_logprobs"`
	// MaxTokens bounds the answer's length in tokens.
	MaxTokens int `yaml:"max_tokens"`
}

// LLMTLS configures TLS to the LLM endpoint.
type LLMTLS struct {
	// CA is a PEM file of certificate authorities to trust; empty: the system's.
	CA string `yaml:"ca"`
	// Cert is a client certificate (PEM), for endpoints that require mutual TLS.
	Cert string `yaml:"cert"`
	// Key is the key (PEM) of cert.
	Key string `yaml:"key"`
}

// Redact configures the redaction of personal and health identifiers (PHI/PII) in the
// transcript, rationale and evidence of each result (see "Redaction" in README.md).
type Redact struct {
	// Mode is off (results as transcribed), redact (each entity replaced by its type in
	// brackets, e.g. [PHONE], and listed in the result's redaction.entities) or tag (the text
	// kept, the entities listed). The rules are heuristics: redact lowers, not removes, the
	// health data in results.
	Mode string `yaml:"mode"`
	// Types are the entity types found: PHONE, DATE, TIME, AGE, ID, AMOUNT, NUMBER, EMAIL, URL,
	// NAME.
	Types []string `yaml:"types"`
	// ReasonOn is the text the sentiment model reads: original (the transcript as heard; labels
	// do not change with redaction) or redacted (the model never sees the entities).
	ReasonOn string `yaml:"reason_on"`
	// MinSpokenDigits is the shortest run of spoken number words ("oh nine one") that is
	// redacted as a number without a word around it that makes it a date, time, age or amount;
	// a single "one" in "one more thing" is never redacted. Digits are always redacted.
	MinSpokenDigits int `yaml:"min_spoken_digits"`
}

// Log configures logging.
type Log struct {
	// Level is the least severe level logged.
	Level string `yaml:"level"`
	// Format is text or json; auto picks text when stderr is a terminal and json otherwise.
	Format string `yaml:"format"`
	// IncludeText puts transcripts (patient speech, health data) into log lines. Leave it off in
	// production.
	IncludeText bool `yaml:"include_text"`
}

// HTTP configures the health, metrics and console endpoint.
type HTTP struct {
	// Listen is the address of /healthz, /readyz and /metrics; empty disables it.
	Listen string `yaml:"listen"`
	// Console serves the operator console on listen at /console/: the calls in progress and
	// recently ended with their utterances, transcripts, evidence and summaries, the DLQ, and
	// model, health and throughput figures, updated live (see "Operator console" in README.md).
	// The console shows transcripts (health data): a listen address beyond loopback needs
	// console_token.
	Console bool `yaml:"console"`
	// ConsoleToken is the bearer token the console's data requires (Authorization: Bearer
	// <token>; the page asks for it). Required when console is on and listen is not a loopback
	// address; empty on loopback lets every local user in. Set it in the environment
	// (SENTIO_HTTP_CONSOLE_TOKEN, e.g. from systemd's EnvironmentFile) rather than in a file
	// others can read.
	ConsoleToken string `yaml:"console_token" secret:"true"`
}

// Alerts configures real-time alerts: rules evaluated on each call's results as they are
// produced, each match published as an event on <nats.event_subject>.<call_id> (see "Alert
// events" in README.md's wire contract).
type Alerts struct {
	// Rules are the alert rules, a list of mappings with the keys of alerts.rules[] below; empty:
	// no events. In the environment (SENTIO_ALERTS_RULES) or with --set, the list in YAML flow
	// style, e.g. [{name: switch, kind: language_switch}].
	Rules []AlertRule `yaml:"rules"`
}

// AlertRule is one alert rule: a name and a kind, with the keys that kind uses.
type AlertRule struct {
	// Name names the rule in events and metrics.
	Name string `yaml:"name"`
	// Kind is what the rule looks for: negative_streak (count negative utterances in a row from
	// role), phrase (one of phrases in an utterance's transcript), silence (nobody speaking for
	// min_gap or longer before an utterance), language_switch (an utterance in another language
	// than the one before it) or label_score (an utterance whose score for label is at least
	// min_score).
	Kind string `yaml:"kind"`
	// Role limits the rule to the utterances of one role (e.g. customer); empty: every role.
	// negative_streak counts the role's own utterances in a row, the other roles' between them
	// not breaking the streak; without a role it counts the call's.
	Role string `yaml:"role"`
	// Count is the length of the streak of negative_streak: the event is published on the
	// count-th negative utterance in a row, once per streak.
	Count int `yaml:"count"`
	// Phrases are the phrases of phrase, per language (an utterance is searched for the phrases
	// of its language): matched case-insensitively, Unicode-normalised (NFC), punctuation and
	// runs of spaces as one space, as whole words (in Chinese, anywhere), on the transcript as
	// transcribed (before redaction).
	Phrases map[string][]string `yaml:"phrases"`
	// MinGap is the shortest silence of silence: from the end of the latest earlier utterance
	// (of any role) to the start of this one.
	MinGap time.Duration `yaml:"min_gap"`
	// Label is the label of label_score: negative, neutral or positive.
	Label string `yaml:"label"`
	// MinScore is the threshold of label_score (0 to 1; the utterance's score for label at
	// least this). Utterances without probabilities (scores_available: false) never match.
	MinScore float64 `yaml:"min_score"`
}
