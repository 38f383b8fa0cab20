package wire

import (
	"encoding/json"
	"testing"
)

func sampleEvents() []*Event {
	u := func(n int64) string { return UtteranceID("call-1", 0, n) }
	base := func(rule, kind string) Event {
		return Event{Rule: rule, RuleKind: kind, CallID: "call-1", UtteranceID: u(3), Channel: 0, Role: "customer", StartMS: 9000, EndMS: 11000, Language: "en"}
	}
	streak, phrase, silence, sw, score := base("streak", "negative_streak"), base("cancel", "phrase"), base("gap", "silence"), base("switch", "language_switch"), base("very-negative", "label_score")
	streak.Label, streak.Count, streak.StreakUtteranceIDs = "negative", 3, []string{u(1), u(2), u(3)}
	phrase.Phrase = "cancel my appointment"
	silence.GapMS, silence.PreviousUtteranceID = 12000, u(2)
	sw.Language, sw.FromLanguage, sw.PreviousUtteranceID = "de", "en", u(2)
	score.Label, score.ScoreLabel, score.Score, score.MinScore = "negative", "negative", 0.93, 0.9
	return []*Event{&streak, &phrase, &silence, &sw, &score}
}

func TestEventsMatchSchema(t *testing.T) {
	for _, e := range sampleEvents() {
		b, err := MarshalEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateEvent(b); err != nil {
			t.Errorf("%s event fails its schema: %v\n%s", e.RuleKind, err, b)
		}
		if e.EventID != EventID(e.Rule, e.CallID, e.UtteranceID) || e.EventID == EventID(e.Rule+"x", e.CallID, e.UtteranceID) {
			t.Errorf("event id %q is not the rule's, call's and utterance's", e.EventID)
		}
	}
}

// The schema refuses what a consumer could not rely on: a kind's fields missing, unknown
// fields, a transcript.
func TestEventSchemaRefuses(t *testing.T) {
	for name, mutate := range map[string]func(m map[string]any){
		"streak without count":   func(m map[string]any) { delete(m, "count") },
		"unknown kind":           func(m map[string]any) { m["rule_kind"] = "shouting" },
		"a transcript":           func(m map[string]any) { m["transcript"] = "I want to cancel" },
		"wrong version":          func(m map[string]any) { m["schema_version"] = "2" },
		"bad event id":           func(m map[string]any) { m["event_id"] = "x" },
		"missing utterance":      func(m map[string]any) { delete(m, "utterance_id") },
		"call id with a subject": func(m map[string]any) { m["call_id"] = "a.b" },
	} {
		b, _ := MarshalEvent(sampleEvents()[0])
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		mutate(m)
		b, _ = json.Marshal(m)
		if ValidateEvent(b) == nil {
			t.Errorf("%s: the schema accepts %s", name, b)
		}
	}
	for i, e := range sampleEvents()[1:] {
		e.RuleKind = []string{"silence", "language_switch", "label_score", "phrase"}[i] // each without its own fields
		b, _ := MarshalEvent(e)
		if ValidateEvent(b) == nil {
			t.Errorf("the schema accepts a %s event without its fields: %s", e.RuleKind, b)
		}
	}
}

// Golden event ids: alert events are de-duplicated across restarts and upgrades by these values,
// so a change of the id layout must fail here. The values were computed outside Go, as
// "e-" + hex(sha256("event" 0x00 rule 0x00 call 0x00 utterance)[:12]).
func TestEventIDGolden(t *testing.T) {
	for _, c := range []struct{ rule, call, utterance, want string }{
		{"streak", "c1", "u-54890f60507592724ee0bada", "e-f7ce3a007313dfea62610d95"},
		{"cancel-phrase", "call-42", "u-ff6ff2256fecdb6f43472798", "e-ab23b50f669aa0705960bb5e"},
	} {
		if got := EventID(c.rule, c.call, c.utterance); got != c.want {
			t.Errorf("EventID(%q, %q, %q) = %s, want %s (the id layout changed: replayed alert events would no longer be de-duplicated)",
				c.rule, c.call, c.utterance, got, c.want)
		}
	}
}
