package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/wire"
)

// publishEvents publishes alert events on the events subject, with their ids.
func publishEvents(t *testing.T, js jetstream.JetStream, evs ...*wire.Event) {
	t.Helper()
	for _, e := range evs {
		b, err := wire.MarshalEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		m := nats.NewMsg(wire.Subject("sentio.events", e.CallID))
		m.Data = b
		m.Header.Set(nats.MsgIdHdr, e.EventID)
		if _, err := js.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTailEventsRedactionAndMetrics: sentio tail shows alert events as ⚑ lines in both readable
// views (the phrase left out with --no-text) and as JSON with --json, a result's redacted
// entities by type, and a summary's conversation metrics.
func TestTailEventsRedactionAndMetrics(t *testing.T) {
	url, js := setupStreams(t)
	r0 := tailResult("e1", 0, "customer", "en", "negative", "Call me on [PHONE] or [PHONE], [NAME] here")
	r0.Redaction = &wire.Redaction{Mode: wire.RedactionRedact, ReasonOn: "original", Entities: []wire.Entity{
		{Type: "PHONE", Field: "transcript", Start: 11, End: 18}, {Type: "PHONE", Field: "transcript", Start: 22, End: 29},
		{Type: "NAME", Field: "transcript", Start: 31, End: 37}, {Type: "PHONE", Field: "rationale", Start: 0, End: 7}}}
	r1 := tailResult("e1", 7, "customer", "de", "negative", "Ich will den Termin absagen")
	silence := &wire.Event{Rule: "long-silence", RuleKind: "silence", CallID: "e1", UtteranceID: r1.UtteranceID, Role: "customer",
		StartMS: r1.StartMS, EndMS: r1.EndMS, Language: "de", Label: "negative", GapMS: 6200, PreviousUtteranceID: r0.UtteranceID}
	sw := &wire.Event{Rule: "switch", RuleKind: "language_switch", CallID: "e1", UtteranceID: r1.UtteranceID, Role: "customer",
		StartMS: r1.StartMS, EndMS: r1.EndMS, Language: "de", Label: "negative", FromLanguage: "en", PreviousUtteranceID: r0.UtteranceID}
	phrase := &wire.Event{Rule: "cancel", RuleKind: "phrase", CallID: "e1", UtteranceID: r1.UtteranceID, Role: "customer",
		StartMS: r1.StartMS, EndMS: r1.EndMS, Language: "de", Label: "negative", Phrase: "Termin absagen"}
	loud := -21.04
	sum := tailSummary("e1", 2)
	sum.Metrics = &wire.ConversationMetrics{DurationMS: 7800, TalkMS: 1600, NonTalkMS: 6200, Roles: map[string]wire.RoleMetrics{
		"customer": {Utterances: 2, TalkMS: 1600, WordsPerMinute: 412.5, LoudnessDBFS: &loud}}}
	publishResults(t, js, r0, r1)
	publishEvents(t, js, silence, sw, phrase)
	publishResults(t, js, sum)

	args := []string{"tail", "--nats", url, "--from-start", "--count", "6", "--timeout", "20s"}
	out, errs, code := sentio(t, nil, append(args, "--by-call")...)
	want := []string{
		"── e1",
		`  0:00.0  customer   negative 0.80  en  "Call me on [PHONE] or [PHONE], [NAME] here"  [redacted NAME, PHONE×2]`,
		`  0:07.0  customer   negative 0.80  de  "Ich will den Termin absagen"`,
		"  0:07.0  customer   ⚑ long-silence  silence of 6.2s before",
		"  0:07.0  customer   ⚑ switch  language en → de",
		`  0:07.0  customer   ⚑ cancel  phrase "Termin absagen" (de)`,
		"  summary: 2 utterances over 2.0s: negative 1, positive 1",
		"  metrics: talk 1.6s, silence 6.2s, overlap 0.0s, 0 interruptions; customer 2 utt. 412 wpm -21.0 dBFS",
	}
	if code != 0 || strings.TrimRight(out, "\n") != strings.Join(want, "\n") {
		t.Fatalf("--by-call: exit %d\n%s%s\nwant\n%s", code, out, errs, strings.Join(want, "\n"))
	}

	out, errs, code = sentio(t, nil, append(args, "--no-text")...)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if code != 0 || len(lines) != 6 || !strings.HasSuffix(lines[0], "[redacted NAME, PHONE×2]") || strings.Contains(out, "Termin") ||
		lines[4] != "⚑ cancel  e1  "+r1.UtteranceID+"  customer 0:07.0  phrase (de)" || !strings.Contains(lines[5], "talk 1.6s") {
		t.Fatalf("--no-text: exit %d\n%s%s", code, out, errs)
	}

	// One call's events come with its results; --json prints each event as published.
	out, errs, code = sentio(t, nil, "tail", "--nats", url, "--call-id", "e1", "--json", "--role", "customer", "--count", "6", "--timeout", "20s")
	lines = strings.Split(strings.TrimRight(out, "\n"), "\n")
	if code != 0 || len(lines) != 6 {
		t.Fatalf("--call-id --json: exit %d\n%s%s", code, out, errs)
	}
	var e wire.Event
	if err := json.Unmarshal([]byte(lines[2]), &e); err != nil || wire.ValidateEvent([]byte(lines[2])) != nil || e.Rule != "long-silence" || e.GapMS != 6200 {
		t.Fatalf("--json event line: %s (%v)", lines[2], err)
	}
}
