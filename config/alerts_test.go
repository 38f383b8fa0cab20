package config

import (
	"strings"
	"testing"
	"time"
)

const alertsYAML = `alerts:
  rules:
    - name: negative-streak
      kind: negative_streak
      role: customer
      count: 3
    - name: cancel
      kind: phrase
      phrases: {en: ["cancel my appointment"], vi: ["hủy lịch hẹn"]}
    - name: long-silence
      kind: silence
      min_gap: 10s
    - name: switch
      kind: language_switch
    - name: very-negative
      kind: label_score
      label: negative
      min_score: 0.9
`

func TestAlertRulesLoad(t *testing.T) {
	c, err := Load(writeFile(t, alertsYAML))
	if err != nil {
		t.Fatal(err)
	}
	rs := c.Alerts.Rules
	if len(rs) != 5 {
		t.Fatalf("got %d rules, want 5: %+v", len(rs), rs)
	}
	if r := rs[0]; r.Name != "negative-streak" || r.Kind != AlertNegativeStreak || r.Role != "customer" || r.Count != 3 {
		t.Errorf("rule 0: %+v", r)
	}
	if p := rs[1].Phrases; len(p) != 2 || p["vi"][0] != "hủy lịch hẹn" || p["en"][0] != "cancel my appointment" {
		t.Errorf("phrases: %+v", p)
	}
	if rs[2].MinGap != 10*time.Second || rs[4].Label != "negative" || rs[4].MinScore != 0.9 {
		t.Errorf("rules 2, 4: %+v %+v", rs[2], rs[4])
	}
	if c.NATS.EventSubject != "sentio.events" {
		t.Errorf("nats.event_subject = %q", c.NATS.EventSubject)
	}
	// config print renders the rules so that Load reads them back the same.
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Load(writeFile(t, string(out)))
	if err != nil {
		t.Fatalf("printed config does not load: %v\n%s", err, out)
	}
	if len(c2.Alerts.Rules) != 5 || c2.Alerts.Rules[1].Phrases["vi"][0] != "hủy lịch hẹn" || c2.Alerts.Rules[2].MinGap != 10*time.Second {
		t.Errorf("printed and loaded again: %+v", c2.Alerts.Rules)
	}
}

func TestAlertRulesFromEnvironment(t *testing.T) {
	t.Setenv("SENTIO_ALERTS_RULES", "[{name: s, kind: silence, min_gap: 5s}, {name: w, kind: language_switch}]")
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Alerts.Rules) != 2 || c.Alerts.Rules[0].MinGap != 5*time.Second || c.Alerts.Rules[1].Kind != AlertLanguageSwitch {
		t.Errorf("rules: %+v", c.Alerts.Rules)
	}
	t.Setenv("SENTIO_ALERTS_RULES", "[{name: s, kind: silence, min_gap: soon}]")
	_, err = Load("")
	mustFail(t, err, "environment SENTIO_ALERTS_RULES: alerts.rules:", "alerts.rules[0].min_gap", `"soon" is not a duration`)
}

// Every problem of a rule names its key, alerts.rules[i].key, and the line it is on.
func TestAlertRulesRefused(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		wants      []string
	}{
		{"unknown kind", "alerts:\n  rules:\n    - name: a\n      kind: shouting\n", []string{":4: alerts.rules[0].kind:", `"shouting" is not a rule kind`, "negative_streak, phrase, silence, language_switch, label_score"}},
		{"unknown key", "alerts:\n  rules:\n    - name: a\n      kind: silence\n      min_gapp: 3s\n", []string{":5: ", `unknown key "alerts.rules[0].min_gapp"`, `did you mean "alerts.rules[0].min_gap"`}},
		{"streak without count", "alerts:\n  rules:\n    - name: a\n      kind: negative_streak\n", []string{":3: alerts.rules[0].count: is missing", "negative_streak: required"}},
		{"zero count", "alerts:\n  rules:\n    - name: a\n      kind: negative_streak\n      count: 0\n", []string{":5: alerts.rules[0].count: 0 is not allowed"}},
		{"negative count", "alerts:\n  rules:\n    - name: a\n      kind: negative_streak\n      count: -2\n", []string{":5: alerts.rules[0].count: -2 is not allowed"}},
		{"key of another kind", "alerts:\n  rules:\n    - name: a\n      kind: silence\n      min_gap: 3s\n      label: negative\n", []string{":6: alerts.rules[0].label: is not used by kind silence", "allowed keys: name, kind, role, min_gap"}},
		{"bad name", "alerts:\n  rules:\n    - name: a b\n      kind: language_switch\n", []string{":3: alerts.rules[0].name:", `"a b" is not a rule name`}},
		{"duplicate name", "alerts:\n  rules:\n    - name: a\n      kind: language_switch\n    - name: a\n      kind: language_switch\n", []string{":5: alerts.rules[1].name:", "also the name of alerts.rules[0]"}},
		{"phrase language not identified", "alerts:\n  rules:\n    - name: p\n      kind: phrase\n      phrases: {ja: [こんにちは]}\n", []string{":5: alerts.rules[0].phrases:", `language "ja" is not in langid.languages`}},
		{"phrases not a mapping", "alerts:\n  rules:\n    - name: p\n      kind: phrase\n      phrases: [cancel]\n", []string{":5: alerts.rules[0].phrases:", "expected a mapping of languages"}},
		{"empty phrase", "alerts:\n  rules:\n    - name: p\n      kind: phrase\n      phrases: {en: [\"?!\"]}\n", []string{":5: alerts.rules[0].phrases:", "has no words"}},
		{"bad label", "alerts:\n  rules:\n    - name: l\n      kind: label_score\n      label: angry\n      min_score: 0.5\n", []string{":5: alerts.rules[0].label:", `"angry" is not allowed`, "negative, neutral, positive"}},
		{"score above 1", "alerts:\n  rules:\n    - name: l\n      kind: label_score\n      label: negative\n      min_score: 1.5\n", []string{":6: alerts.rules[0].min_score: 1.5 is not allowed"}},
		{"short gap", "alerts:\n  rules:\n    - name: s\n      kind: silence\n      min_gap: 10ms\n", []string{":5: alerts.rules[0].min_gap: 10ms is not allowed", ">= 100ms"}},
		{"not a list", "alerts:\n  rules: {name: s}\n", []string{":2: alerts.rules: expected a list of rules"}},
		{"rule not a mapping", "alerts:\n  rules:\n    - silence\n", []string{":3: alerts.rules[0]: expected a mapping"}},
		{"event subject", "nats:\n  event_subject: \"sentio.*\"\n", []string{":2: nats.event_subject:"}},
		{"event subject among the results", "nats:\n  event_subject: sentio.results.events\n", []string{":2: nats.event_subject:", `overlaps nats.result_subject "sentio.results"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tc.body))
			mustFail(t, err, tc.wants...)
			if err != nil && strings.Count(err.Error(), "\n") > 0 && tc.name != "key of another kind" {
				t.Logf("several problems: %v", err)
			}
		})
	}
}
