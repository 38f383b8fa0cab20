package config

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/sentio-health/sentio/wire"
)

// Alert rule kinds (alerts.rules[].kind).
const (
	AlertNegativeStreak = "negative_streak"
	AlertPhrase         = "phrase"
	AlertSilence        = "silence"
	AlertLanguageSwitch = "language_switch"
	AlertLabelScore     = "label_score"
)

// AlertKinds are the values of alerts.rules[].kind.
var AlertKinds = []string{AlertNegativeStreak, AlertPhrase, AlertSilence, AlertLanguageSwitch, AlertLabelScore}

// alertKeys are, per kind, the keys of a rule it uses beside name and kind.
var alertKeys = map[string][]string{
	AlertNegativeStreak: {"role", "count"},
	AlertPhrase:         {"role", "phrases"},
	AlertSilence:        {"role", "min_gap"},
	AlertLanguageSwitch: {"role"},
	AlertLabelScore:     {"role", "label", "min_score"},
}

var alertRulesType = reflect.TypeOf([]AlertRule(nil))

var ruleName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// alertRules are the rules of the keys that came with alerts (merged into rules).
var alertRules = map[string]rule{
	"nats.event_subject": subjectPrefix(),
}

// alertRuleAllowed says, for the configuration reference, what each key of a rule allows.
var alertRuleAllowed = map[string]string{
	"name":      "1 to 64 letters, digits, '-' or '_', unique among the rules",
	"kind":      strings.Join(AlertKinds, ", "),
	"count":     "an integer >= 1 (negative_streak: required)",
	"phrases":   "a mapping of languages of langid.languages to non-empty lists of phrases (phrase: required)",
	"min_gap":   "a duration >= 100ms (silence: required)",
	"label":     strings.Join(wire.Labels, ", ") + " (label_score: required)",
	"min_score": "more than 0, at most 1 (label_score: required)",
}

// ruleKey is the dotted key of field key of rule i, e.g. alerts.rules[2].count.
func ruleKey(i int, key string) string {
	k := fmt.Sprintf("alerts.rules[%d]", i)
	if key != "" {
		k += "." + key
	}
	return k
}

// decodeAlertRules decodes the list of rules in n strictly, recording in sources (when not nil)
// the line of each rule and each of its keys.
func decodeAlertRules(n *yaml.Node, file string, sources map[string]Source) ([]AlertRule, Errors) {
	n = deref(n)
	if isNull(n) {
		return nil, nil
	}
	at := func(line int) Source { return Source{File: file, Line: line} }
	if n.Kind != yaml.SequenceNode {
		return nil, Errors{{Source: at(n.Line), Key: "alerts.rules", Msg: fmt.Sprintf("expected a list of rules, each a mapping with name and kind (got a %s)", kindName(n))}}
	}
	var out []AlertRule
	var errs Errors
	rt := reflect.TypeOf(AlertRule{})
	for i, rn := range n.Content {
		rn = deref(rn)
		if rn.Kind != yaml.MappingNode {
			errs = append(errs, &Error{Source: at(rn.Line), Key: ruleKey(i, ""), Msg: fmt.Sprintf("expected a mapping with name, kind and the kind's keys (got a %s)", kindName(rn))})
			continue
		}
		if sources != nil {
			sources[ruleKey(i, "")] = at(rn.Line)
		}
		var r AlertRule
		rv := reflect.ValueOf(&r).Elem()
		seen := map[string]int{}
		for j := 0; j+1 < len(rn.Content); j += 2 {
			kn, vn := rn.Content[j], deref(rn.Content[j+1])
			key := ruleKey(i, kn.Value)
			if first, dup := seen[kn.Value]; dup {
				errs = append(errs, &Error{Source: at(kn.Line), Msg: fmt.Sprintf("duplicate key %q (first set on line %d)", key, first)})
				continue
			}
			seen[kn.Value] = kn.Line
			idx := fieldIndex(rt, kn.Value)
			if idx < 0 {
				msg := fmt.Sprintf("unknown key %q (allowed: %s)", key, strings.Join(structKeys(rt), ", "))
				if s := closest(kn.Value, structKeys(rt)); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", ruleKey(i, s))
				}
				errs = append(errs, &Error{Source: at(kn.Line), Msg: msg})
				continue
			}
			fv := rv.Field(idx)
			var err error
			if fv.Kind() == reflect.Map {
				err = decodePhrases(vn, &r.Phrases)
			} else {
				err = decodeLeaf(Field{Key: key, Type: fv.Type()}, fv, vn)
			}
			if err != nil {
				errs = append(errs, &Error{Source: at(vn.Line), Key: key, Msg: err.Error()})
				continue
			}
			if sources != nil {
				sources[key] = at(kn.Line)
			}
		}
		out = append(out, r)
	}
	return out, errs
}

// decodePhrases decodes a mapping of languages to lists of phrases.
func decodePhrases(n *yaml.Node, dst *map[string][]string) error {
	if isNull(n) {
		*dst = nil
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("expected a mapping of languages to lists of phrases, e.g. {en: [cancel my appointment]} (got a %s)", kindName(n))
	}
	m := map[string][]string{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		lang, ln := n.Content[j].Value, deref(n.Content[j+1])
		if _, dup := m[lang]; dup {
			return fmt.Errorf("language %q is listed twice", lang)
		}
		var list []string
		if err := decodeLeaf(Field{Type: reflect.TypeOf(list)}, reflect.ValueOf(&list).Elem(), ln); err != nil {
			return fmt.Errorf("phrases of %q: %w", lang, err)
		}
		m[lang] = list
	}
	*dst = m
	return nil
}

// parseAlertRules parses alerts.rules from the environment or a flag: the list in YAML flow
// style.
func parseAlertRules(v reflect.Value, s string) error {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		return fmt.Errorf("not a YAML list of rules, e.g. [{name: switch, kind: language_switch}]: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var n *yaml.Node
	if len(doc.Content) > 0 {
		n = doc.Content[0]
	}
	rs, errs := decodeAlertRules(n, "", nil)
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = strings.TrimPrefix(e.Error(), "default: ")
		}
		return fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	v.Set(reflect.ValueOf(rs))
	return nil
}

// validateAlerts checks each rule: its name and kind, the keys its kind requires, and no key its
// kind does not use. Each problem names the rule's key (alerts.rules[i].key) and its line.
func (c *Config) validateAlerts(errs *Errors) {
	ev := c.NATS.EventSubject
	for _, o := range []struct{ key, val string }{{"nats.result_subject", c.NATS.ResultSubject}, {"nats.audio_subject", c.NATS.AudioSubject}, {"nats.dlq_subject", c.NATS.DLQSubject}} {
		if ev != "" && o.val != "" && (ev == o.val || strings.HasPrefix(ev, o.val+".") || strings.HasPrefix(o.val, ev+".")) {
			*errs = append(*errs, &Error{Source: c.sources["nats.event_subject"], Key: "nats.event_subject",
				Msg: fmt.Sprintf("%q overlaps %s %q (allowed: a subject prefix of its own, e.g. sentio.events)", ev, o.key, o.val)})
		}
	}
	names := map[string]int{}
	for i, r := range c.Alerts.Rules {
		src := func(key string) Source {
			for _, k := range []string{ruleKey(i, key), ruleKey(i, ""), "alerts.rules"} {
				if s, ok := c.sources[k]; ok {
					return s
				}
			}
			return Source{}
		}
		bad := func(key, msg string) {
			*errs = append(*errs, &Error{Source: src(key), Key: ruleKey(i, key), Msg: msg})
		}
		switch {
		case !ruleName.MatchString(r.Name):
			bad("name", fmt.Sprintf("%q is not a rule name (allowed: %s)", r.Name, alertRuleAllowed["name"]))
		case names[r.Name] > 0:
			bad("name", fmt.Sprintf("%q is also the name of alerts.rules[%d] (allowed: %s)", r.Name, names[r.Name]-1, alertRuleAllowed["name"]))
		default:
			names[r.Name] = i + 1
		}
		keys, ok := alertKeys[r.Kind]
		if !ok {
			bad("kind", fmt.Sprintf("%q is not a rule kind (allowed: %s)", r.Kind, alertRuleAllowed["kind"]))
			continue
		}
		set := map[string]bool{"role": r.Role != "", "count": r.Count != 0, "phrases": r.Phrases != nil,
			"min_gap": r.MinGap != 0, "label": r.Label != "", "min_score": r.MinScore != 0}
		for k := range set {
			if _, inFile := c.sources[ruleKey(i, k)]; inFile {
				set[k] = true // given, if only as 0 or empty
			}
		}
		for _, k := range []string{"role", "count", "phrases", "min_gap", "label", "min_score"} {
			if set[k] && !slices.Contains(keys, k) {
				bad(k, fmt.Sprintf("is not used by kind %s (allowed keys: name, kind, %s)", r.Kind, strings.Join(keys, ", ")))
			}
		}
		if strings.IndexFunc(r.Role, unicode.IsControl) >= 0 {
			bad("role", fmt.Sprintf("%q holds a control character (allowed: a role name, e.g. customer)", r.Role))
		}
		switch r.Kind {
		case AlertNegativeStreak:
			if r.Count < 1 {
				bad("count", fmt.Sprintf("%s (allowed: %s)", missingOr(set["count"], strconv.Itoa(r.Count)), alertRuleAllowed["count"]))
			}
		case AlertPhrase:
			c.validatePhrases(r, bad)
		case AlertSilence:
			if r.MinGap < 100*time.Millisecond {
				bad("min_gap", fmt.Sprintf("%s (allowed: %s)", missingOr(set["min_gap"], formatDuration(r.MinGap)), alertRuleAllowed["min_gap"]))
			}
		case AlertLabelScore:
			if !slices.Contains(wire.Labels, r.Label) {
				bad("label", fmt.Sprintf("%s (allowed: %s)", missingOr(set["label"], strconv.Quote(r.Label)), alertRuleAllowed["label"]))
			}
			if !(r.MinScore > 0 && r.MinScore <= 1) {
				bad("min_score", fmt.Sprintf("%s (allowed: %s)", missingOr(set["min_score"], strconv.FormatFloat(r.MinScore, 'g', -1, 64)), alertRuleAllowed["min_score"]))
			}
		}
	}
}

func (c *Config) validatePhrases(r AlertRule, bad func(key, msg string)) {
	if len(r.Phrases) == 0 {
		bad("phrases", fmt.Sprintf("is missing (allowed: %s)", alertRuleAllowed["phrases"]))
		return
	}
	langs := make([]string, 0, len(r.Phrases))
	for l := range r.Phrases {
		langs = append(langs, l)
	}
	slices.Sort(langs)
	for _, l := range langs {
		if !slices.Contains(c.LangID.Languages, l) {
			bad("phrases", fmt.Sprintf("language %q is not in langid.languages, so no utterance is ever in it (allowed: %s)", l, strings.Join(c.LangID.Languages, ", ")))
			continue
		}
		if len(r.Phrases[l]) == 0 {
			bad("phrases", fmt.Sprintf("language %q has no phrases (allowed: a non-empty list)", l))
		}
		for _, p := range r.Phrases[l] {
			if strings.TrimFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) == "" {
				bad("phrases", fmt.Sprintf("phrase %q of %q has no words (allowed: a phrase of one or more words)", p, l))
			}
		}
	}
}

// missingOr is "is missing" when the key was not set, else the value "is not allowed".
func missingOr(set bool, val string) string {
	if !set {
		return "is missing"
	}
	return val + " is not allowed"
}

// alertRulesNode renders the rules for [Config.YAML], with the keys each rule sets.
func alertRulesNode(rs []AlertRule) *yaml.Node {
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	for _, r := range rs {
		m := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		add := func(k string, v *yaml.Node) { m.Content = append(m.Content, str(k), v) }
		add("name", str(r.Name))
		add("kind", str(r.Kind))
		if r.Role != "" {
			add("role", str(r.Role))
		}
		if r.Count != 0 {
			add("count", &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.Itoa(r.Count)})
		}
		if r.Phrases != nil {
			pm := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
			langs := make([]string, 0, len(r.Phrases))
			for l := range r.Phrases {
				langs = append(langs, l)
			}
			slices.Sort(langs)
			for _, l := range langs {
				list := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
				for _, p := range r.Phrases[l] {
					list.Content = append(list.Content, str(p))
				}
				pm.Content = append(pm.Content, str(l), list)
			}
			add("phrases", pm)
		}
		if r.MinGap != 0 {
			add("min_gap", &yaml.Node{Kind: yaml.ScalarNode, Value: formatDuration(r.MinGap)})
		}
		if r.Label != "" {
			add("label", str(r.Label))
		}
		if r.MinScore != 0 {
			add("min_score", &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatFloat(r.MinScore, 'g', -1, 64)})
		}
		seq.Content = append(seq.Content, m)
	}
	return seq
}

// docRuleKeys writes the configuration reference's rows of the keys of one alert rule.
func docRuleKeys(b *strings.Builder, comments map[string]string) {
	rt := reflect.TypeOf(AlertRule{})
	for i := 0; i < rt.NumField(); i++ {
		sf := rt.Field(i)
		key := yamlKey(sf)
		typ := Field{Type: sf.Type}.TypeName()
		if sf.Type.Kind() == reflect.Map {
			typ = "mapping of lists of strings"
		}
		desc := userSentence(comments["AlertRule."+sf.Name], sf.Name)
		if a, ok := alertRuleAllowed[key]; ok {
			desc += " Allowed: " + a + "."
		}
		fmt.Fprintf(b, "| `alerts.rules[].%s` | %s | | %s |\n", key, typ, mdCell(desc))
	}
}
