package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/wire"
)

// eventMark starts the line of an alert event.
const eventMark = "⚑"

// event prints an alert event: its JSON with json, else one line (under its call's header
// with byCall) naming the rule, the utterance and what matched; noText leaves the phrase out.
func (v *tailView) event(subject string, data []byte, e *wire.Event, err error) {
	switch {
	case v.json:
		fmt.Fprintln(v.w, strings.TrimSpace(string(data)))
	case err != nil:
		fmt.Fprintf(v.w, "%s: undecodable %v\n", subject, err)
	case v.byCall:
		v.header(e.CallID)
		fmt.Fprintf(v.w, "  %s  %-9s  %s %s  %s\n", callTime(e.StartMS), e.Role, v.pal.header.Sprint(eventMark), e.Rule, v.eventDetail(e))
	default:
		fmt.Fprintf(v.w, "%s %s  %s  %s  %-8s %s  %s\n", v.pal.header.Sprint(eventMark), e.Rule, e.CallID, e.UtteranceID, e.Role, callTime(e.StartMS), v.eventDetail(e))
	}
}

// eventDetail says what matched, by rule kind.
func (v *tailView) eventDetail(e *wire.Event) string {
	switch e.RuleKind {
	case config.AlertNegativeStreak:
		return v.pal.label(wire.LabelNegative, fmt.Sprintf("%d negative in a row", e.Count), 0)
	case config.AlertPhrase:
		if v.noText {
			return fmt.Sprintf("phrase (%s)", e.Language)
		}
		return fmt.Sprintf("phrase %q (%s)", e.Phrase, e.Language)
	case config.AlertSilence:
		return fmt.Sprintf("silence of %.1fs before", float64(e.GapMS)/1000)
	case config.AlertLanguageSwitch:
		return fmt.Sprintf("language %s → %s", e.FromLanguage, e.Language)
	case config.AlertLabelScore:
		return v.pal.label(e.ScoreLabel, fmt.Sprintf("%s %.2f ≥ %.2f", e.ScoreLabel, e.Score, e.MinScore), 0)
	}
	return e.RuleKind
}

// decodeEvent decodes an alert event.
func decodeEvent(data []byte) (*wire.Event, error) {
	var e wire.Event
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	return &e, nil
}

// event reports whether an alert event is shown: its utterance's role, label and language must
// be allowed.
func (f *tailFilter) event(e *wire.Event) bool {
	return !f.active() || (allows(f.roles, strings.ToLower(e.Role)) && allows(f.labels, e.Label) && allows(f.languages, e.Language))
}

// redactionNote is a short note of the entities redacted (or tagged) in r's transcript, e.g.
// "[redacted NAME, PHONE×2]"; empty when there are none.
func redactionNote(r *wire.Result) string {
	if r.Redaction == nil {
		return ""
	}
	n := map[string]int{}
	var types []string
	for _, e := range r.Redaction.Entities {
		if e.Field != "transcript" {
			continue
		}
		if n[e.Type] == 0 {
			types = append(types, e.Type)
		}
		n[e.Type]++
	}
	if len(types) == 0 {
		return ""
	}
	slices.Sort(types)
	for i, t := range types {
		if n[t] > 1 {
			types[i] = fmt.Sprintf("%s×%d", t, n[t])
		}
	}
	verb := "redacted"
	if r.Redaction.Mode == wire.RedactionTag {
		verb = "tagged"
	}
	return "  [" + verb + " " + strings.Join(types, ", ") + "]"
}

// metricsNote is a summary's conversation metrics on one line: talk time, overlap,
// interruptions, and per role its utterances, words per minute and loudness; empty without
// metrics.
func metricsNote(m *wire.ConversationMetrics) string {
	if m == nil {
		return ""
	}
	s := fmt.Sprintf("talk %.1fs, silence %.1fs, overlap %.1fs, %d interruptions", float64(m.TalkMS)/1000, float64(m.NonTalkMS)/1000,
		float64(m.OverlapMS)/1000, m.Interruptions)
	roles := make([]string, 0, len(m.Roles))
	for r := range m.Roles {
		roles = append(roles, r)
	}
	slices.Sort(roles)
	for _, r := range roles {
		rm := m.Roles[r]
		s += fmt.Sprintf("; %s %d utt. %.0f wpm", r, rm.Utterances, rm.WordsPerMinute)
		if rm.LoudnessDBFS != nil {
			s += fmt.Sprintf(" %.1f dBFS", *rm.LoudnessDBFS)
		}
	}
	return s
}
