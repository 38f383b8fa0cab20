package wire

// SchemaVersion is the version of the result and summary JSON; it changes only with an
// incompatible change (a field removed, renamed or retyped, or a meaning changed: version "2"),
// and schema/result.v<SchemaVersion>.json describes it. New optional fields (like redaction)
// keep version "1": consumers must ignore fields they do not know.
const SchemaVersion = "1"

// The sentiment labels: Result.Label, the keys of Result.Scores and of a summary's counts and
// mean scores. Package reasoning's labels are these.
const (
	LabelNegative = "negative"
	LabelNeutral  = "neutral"
	LabelPositive = "positive"
)

// Labels are the sentiment labels, in the order of the models' outputs (reasoning.Labels).
var Labels = []string{LabelNegative, LabelNeutral, LabelPositive}

// LabelUnsupported is what a summary's counts (and sentio's metrics and sentio tail) call an
// utterance in a language outside the configured set. It is never a Result's Label: such a
// result has none.
const LabelUnsupported = "unsupported"

// Language sources: which evidence decided the language of an utterance.
const (
	// SourceFused means lingua-go's and whisper's probabilities were combined.
	SourceFused = "fused"
	// SourceLingua means lingua-go decided alone (whisper gave no probabilities).
	SourceLingua = "lingua"
	// SourceWhisper means whisper decided: the text was too short or ambiguous for lingua-go.
	SourceWhisper = "whisper"
	// SourceNone means nothing could decide (no text and no whisper guess).
	SourceNone = "none"
)

// Result is the analysis of one utterance, published on <result_subject>.<call_id>.
type Result struct {
	// SchemaVersion is SchemaVersion.
	SchemaVersion string `json:"schema_version"`
	// CallID is the call the utterance belongs to.
	CallID string `json:"call_id"`
	// UtteranceID is the deterministic id (also the Nats-Msg-Id).
	UtteranceID string `json:"utterance_id"`
	// Mode is how the audio arrived: clip or stream.
	Mode Mode `json:"mode"`
	// Channel is the audio channel (0 for mono).
	Channel int `json:"channel"`
	// Role is the speaker role of the channel (agent, customer, patient, clinician ... or unknown).
	Role string `json:"role"`
	// StartMS and EndMS place the utterance in the call, in milliseconds from its start.
	StartMS int64 `json:"start_ms"`
	EndMS   int64 `json:"end_ms"`
	// Transcript is what was said, as whisper heard it.
	Transcript string `json:"transcript"`
	// Language is the ISO 639-1 code of the language identified ("" when unknown).
	Language string `json:"language"`
	// LanguageConfidence is the probability of Language (0..1).
	LanguageConfidence float64 `json:"language_confidence"`
	// LanguageSupported is false when the language is outside the configured set; the result
	// then has no label, scores, rationale or evidence.
	LanguageSupported bool `json:"language_supported"`
	// LanguageSource says what decided the language: fused, lingua, whisper or none.
	LanguageSource string `json:"language_source"`
	// Label is negative, neutral or positive; empty when the language is not supported.
	Label string `json:"label,omitempty"`
	// Scores is the probability of each label; absent when ScoresAvailable is false.
	Scores map[string]float64 `json:"scores,omitempty"`
	// ScoresAvailable is false (and Scores absent) when the reasoning model gave no label
	// probabilities (an LLM endpoint without log-probabilities); absent means true.
	ScoresAvailable *bool `json:"scores_available,omitempty"`
	// ReasoningError says why an utterance of a supported language has no label when the
	// reasoning model could not reason about its text (e.g. a language the model was not trained
	// on); language_supported is then false.
	ReasoningError string `json:"reasoning_error,omitempty"`
	// Rationale explains the label in a sentence.
	Rationale string `json:"rationale,omitempty"`
	// Evidence is the parts of the transcript that support the label.
	Evidence []Evidence `json:"evidence,omitempty"`
	// Words are the transcript's words with their times in the call (from whisper's token
	// timings), in order, within [StartMS, EndMS]; their texts joined are Transcript without its
	// spaces. Absent when the transcript is empty.
	Words []Word `json:"words,omitempty"`
	// LoudnessDBFS is the utterance's loudness: the RMS level of its audio in dB relative to
	// full scale (0 is a full-scale square wave; -100 for digital silence).
	LoudnessDBFS *float64 `json:"loudness_dbfs,omitempty"`
	// Models names the model of each stage and its version.
	Models map[string]string `json:"models"`
	// TimingsMS is the time spent in each stage, in milliseconds, and "total" from the input's
	// arrival to publication.
	TimingsMS map[string]float64 `json:"timings_ms"`
	// Redaction lists the personal and health identifiers found in the texts of the result;
	// absent when redact.mode is off.
	Redaction *Redaction `json:"redaction,omitempty"`
}

// Redaction modes (redact.mode).
const (
	// RedactionRedact means each entity was replaced by its type in brackets ("[PHONE]").
	RedactionRedact = "redact"
	// RedactionTag means the texts are as transcribed and the entities only listed.
	RedactionTag = "tag"
)

// Redaction says how the texts of a result were redacted and where its entities are.
type Redaction struct {
	// Mode is redact or tag.
	Mode string `json:"mode"`
	// ReasonOn is the text the sentiment model read: original or redacted.
	ReasonOn string `json:"reason_on"`
	// Entities are the entities found, in the texts as published: with mode redact each spans
	// its placeholder.
	Entities []Entity `json:"entities"`
}

// Entity is one personal or health identifier in a text of a result.
type Entity struct {
	// Type is PHONE, DATE, TIME, AGE, ID, AMOUNT, NUMBER, EMAIL, URL or NAME.
	Type string `json:"type"`
	// Field is the text it is in: transcript, rationale, or evidence[i] (the i-th evidence
	// span's text, from 0).
	Field string `json:"field"`
	// Start and End are code-point (rune) offsets into that text, End exclusive, as evidence
	// offsets are.
	Start int `json:"start"`
	End   int `json:"end"`
}

// Evidence is a span of the transcript that supports the label.
type Evidence struct {
	// Text is the span itself.
	Text string `json:"text"`
	// Start and End are code-point (rune) offsets of the span in the transcript, End exclusive.
	Start int `json:"start"`
	End   int `json:"end"`
	// Weight is the span's contribution to the label (higher supports it more).
	Weight float64 `json:"weight"`
}

// Word is one word of a transcript with its place in the call.
type Word struct {
	// Text is the word as in the transcript, punctuation attached (each Chinese character is a
	// word).
	Text string `json:"text"`
	// StartMS and EndMS place the word in the call, in milliseconds from its start.
	StartMS int64 `json:"start_ms"`
	EndMS   int64 `json:"end_ms"`
	// Probability is the mean of whisper's probabilities of the word's tokens.
	Probability float64 `json:"probability"`
}

// Summary is published on <result_subject>.<call_id>.summary when a stream ends.
type Summary struct {
	SchemaVersion string `json:"schema_version"`
	// Kind is always "summary", to tell it from a Result on a wildcard subscription.
	Kind   string `json:"kind"`
	CallID string `json:"call_id"`
	// Utterances is the number of results published for the call by this instance.
	Utterances int `json:"utterances"`
	// DurationMS is the end of the last utterance.
	DurationMS int64 `json:"duration_ms"`
	// Timeline is the label of each utterance in time order.
	Timeline []TimelineEntry `json:"timeline"`
	// Counts is the number of utterances per label (LabelUnsupported, "unsupported", for other
	// languages).
	Counts map[string]int `json:"counts"`
	// MeanScores is the mean score of each label per role.
	MeanScores map[string]map[string]float64 `json:"mean_scores"`
	// Languages counts the utterances per language.
	Languages map[string]int `json:"languages"`
	// Metrics are the conversation metrics of the call (see ConversationMetrics).
	Metrics *ConversationMetrics `json:"metrics,omitempty"`
}

// TimelineEntry is one utterance in a call summary.
type TimelineEntry struct {
	UtteranceID string `json:"utterance_id"`
	StartMS     int64  `json:"start_ms"`
	EndMS       int64  `json:"end_ms"`
	Role        string `json:"role"`
	Label       string `json:"label,omitempty"`
	Language    string `json:"language"`
	// LoudnessDBFS is the utterance's loudness (Result.LoudnessDBFS), when its result has one.
	LoudnessDBFS *float64 `json:"loudness_dbfs,omitempty"`
}
