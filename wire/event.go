package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// EventKindAlert is the kind of an alert event.
const EventKindAlert = "alert"

// Event is an alert event: a rule of alerts.rules that matched at one utterance of a call,
// published on <event_subject>.<call_id> with Nats-Msg-Id = EventID (schema/event.v1.json). It
// carries no transcript: a phrase event names the configured phrase that matched.
type Event struct {
	// SchemaVersion is EventSchemaVersion.
	SchemaVersion string `json:"schema_version"`
	// Kind is "alert".
	Kind string `json:"kind"`
	// EventID is EventID(Rule, CallID, UtteranceID), the message's Nats-Msg-Id.
	EventID string `json:"event_id"`
	// Rule is the rule's name, RuleKind its kind (negative_streak, phrase, silence,
	// language_switch, label_score).
	Rule     string `json:"rule"`
	RuleKind string `json:"rule_kind"`
	// CallID is the call; UtteranceID the utterance at which the rule matched, with its channel,
	// role, span in the call, language and label (when it has one).
	CallID      string `json:"call_id"`
	UtteranceID string `json:"utterance_id"`
	Channel     int    `json:"channel"`
	Role        string `json:"role"`
	StartMS     int64  `json:"start_ms"`
	EndMS       int64  `json:"end_ms"`
	Language    string `json:"language,omitempty"`
	Label       string `json:"label,omitempty"`
	// Count is the streak's length (negative_streak) and StreakUtteranceIDs its utterances, in
	// time order, the last one UtteranceID.
	Count              int      `json:"count,omitempty"`
	StreakUtteranceIDs []string `json:"streak_utterance_ids,omitempty"`
	// Phrase is the configured phrase that matched (phrase); with redact.mode redact, redacted
	// as a transcript would be.
	Phrase string `json:"phrase,omitempty"`
	// GapMS is the silence before the utterance (silence): from PreviousUtteranceID's end.
	GapMS int64 `json:"gap_ms,omitempty"`
	// PreviousUtteranceID is the utterance before (silence, language_switch).
	PreviousUtteranceID string `json:"previous_utterance_id,omitempty"`
	// FromLanguage is the previous utterance's language (language_switch; Language is the new
	// one).
	FromLanguage string `json:"from_language,omitempty"`
	// ScoreLabel is the rule's label, Score the utterance's score for it and MinScore the rule's
	// threshold (label_score).
	ScoreLabel string  `json:"score_label,omitempty"`
	Score      float64 `json:"score,omitempty"`
	MinScore   float64 `json:"min_score,omitempty"`
}

// EventSchemaVersion is the version of the event JSON (schema/event.v1.json); like results', it
// grows additively within a version.
const EventSchemaVersion = "1"

// EventID is the deterministic Nats-Msg-Id of the event of rule at an utterance of a call: a
// replay that matches again publishes the same id, which JetStream drops as a duplicate.
func EventID(rule, callID, utteranceID string) string {
	s := sha256.Sum256([]byte("event\x00" + rule + "\x00" + callID + "\x00" + utteranceID))
	return "e-" + hex.EncodeToString(s[:12])
}

// MarshalEvent encodes e with its schema version, kind and id set.
func MarshalEvent(e *Event) ([]byte, error) {
	e.SchemaVersion, e.Kind = EventSchemaVersion, EventKindAlert
	e.EventID = EventID(e.Rule, e.CallID, e.UtteranceID)
	return json.Marshal(e)
}
