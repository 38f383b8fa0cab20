package alerts

import (
	"sort"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/wire"
)

// Rules are the compiled alert rules of a configuration.
type Rules struct {
	rules []rule
}

type rule struct {
	config.AlertRule
	phrases map[string][]phrase // per language: the phrase as configured and normalised
}

// New compiles rules (validated by package config).
func New(rules []config.AlertRule) *Rules {
	out := &Rules{}
	for _, r := range rules {
		cr := rule{AlertRule: r}
		if r.Kind == config.AlertPhrase {
			cr.phrases = map[string][]phrase{}
			for lang, ps := range r.Phrases {
				for _, p := range ps {
					cr.phrases[lang] = append(cr.phrases[lang], phrase{text: p, norm: normalize(p)})
				}
			}
		}
		out.rules = append(out.rules, cr)
	}
	return out
}

// Empty reports whether there are no rules.
func (rs *Rules) Empty() bool { return rs == nil || len(rs.rules) == 0 }

// Stateful reports whether a rule compares an utterance with earlier ones (negative_streak,
// silence, language_switch); phrase and label_score read the utterance alone.
func (rs *Rules) Stateful() bool {
	for _, r := range rs.rules {
		if r.Kind == config.AlertNegativeStreak || r.Kind == config.AlertSilence || r.Kind == config.AlertLanguageSwitch {
			return true
		}
	}
	return false
}

// Names are the rules' names and kinds, in configuration order (for metrics).
func (rs *Rules) Names() [][2]string {
	var out [][2]string
	for _, r := range rs.rules {
		out = append(out, [2]string{r.Name, r.Kind})
	}
	return out
}

// Call is what the rules remember of one call: a brief of each of its results, in time order.
// It is not safe for concurrent use.
type Call struct {
	utts []brief
	ids  map[string]bool
}

// brief is what the rules read of a result.
type brief struct {
	id             string
	start, end     int64
	channel        int
	role, language string
	label          string
}

// NewCall returns the state of a call without results.
func NewCall() *Call { return &Call{ids: map[string]bool{}} }

// Len is the number of results the call holds.
func (c *Call) Len() int { return len(c.utts) }

// Add records a result without evaluating the rules at it (a result published before: the
// state of a call rebuilt from its published results). A result already held is not added again.
func (c *Call) Add(r *wire.Result) {
	if c.ids[r.UtteranceID] {
		return
	}
	c.ids[r.UtteranceID] = true
	b := brief{id: r.UtteranceID, start: r.StartMS, end: r.EndMS, channel: r.Channel, role: r.Role, language: r.Language, label: r.Label}
	i := sort.Search(len(c.utts), func(i int) bool { return !c.utts[i].before(b) })
	c.utts = append(c.utts, brief{})
	copy(c.utts[i+1:], c.utts[i:])
	c.utts[i] = b
}

func (a brief) before(b brief) bool {
	return a.start < b.start || (a.start == b.start && a.channel < b.channel)
}

// Evaluate adds result r to the call (unless held already) and returns the events of the rules
// that match at r, in configuration order. transcript is r's transcript as transcribed (before
// redaction), which phrase rules search.
func (rs *Rules) Evaluate(c *Call, r *wire.Result, transcript string) []wire.Event {
	c.Add(r)
	// The call's utterances before r, in time order.
	self := brief{start: r.StartMS, channel: r.Channel}
	prev := c.utts[:sort.Search(len(c.utts), func(i int) bool { return !c.utts[i].before(self) })]
	var out []wire.Event
	for _, ru := range rs.rules {
		if ru.Role != "" && ru.Role != r.Role {
			continue
		}
		e := wire.Event{Rule: ru.Name, RuleKind: ru.Kind, CallID: r.CallID, UtteranceID: r.UtteranceID, Channel: r.Channel,
			Role: r.Role, StartMS: r.StartMS, EndMS: r.EndMS, Language: r.Language, Label: r.Label}
		var ok bool
		switch ru.Kind {
		case config.AlertNegativeStreak:
			ok = ru.streak(&e, prev, r)
		case config.AlertPhrase:
			ok = ru.phrase(&e, r, transcript)
		case config.AlertSilence:
			ok = ru.silence(&e, prev, r)
		case config.AlertLanguageSwitch:
			ok = ru.languageSwitch(&e, prev, r)
		case config.AlertLabelScore:
			ok = ru.labelScore(&e, r)
		}
		if ok {
			e.SchemaVersion, e.Kind, e.EventID = wire.EventSchemaVersion, wire.EventKindAlert, wire.EventID(e.Rule, e.CallID, e.UtteranceID)
			out = append(out, e)
		}
	}
	return out
}

// streak matches when r is the count-th negative utterance in a row of the rule's role (of the
// call without one); utterances without a label (other languages) neither extend nor break it.
// It matches once per streak: a longer streak does not match again.
func (ru rule) streak(e *wire.Event, prev []brief, r *wire.Result) bool {
	if r.Label != wire.LabelNegative {
		return false
	}
	ids := []string{r.UtteranceID}
	for i := len(prev) - 1; i >= 0 && len(ids) <= ru.Count; i-- {
		u := prev[i]
		if (ru.Role != "" && u.role != ru.Role) || u.label == "" {
			continue
		}
		if u.label != wire.LabelNegative {
			break
		}
		ids = append(ids, u.id)
	}
	if len(ids) != ru.Count {
		return false
	}
	for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
	e.Count, e.StreakUtteranceIDs = ru.Count, ids
	return true
}

// phrase matches when one of the phrases of r's language is in its transcript; the event names
// the first of them, in configuration order.
func (ru rule) phrase(e *wire.Event, r *wire.Result, transcript string) bool {
	ps := ru.phrases[r.Language]
	if len(ps) == 0 {
		return false
	}
	text := normalize(transcript)
	for _, p := range ps {
		if contains(text, p.norm) {
			e.Phrase = p.text
			return true
		}
	}
	return false
}

// silence matches when nobody spoke for min_gap or longer before r: from the latest end of the
// utterances before it (any role) to its start. The first utterance of a call never matches.
func (ru rule) silence(e *wire.Event, prev []brief, r *wire.Result) bool {
	if len(prev) == 0 {
		return false
	}
	last := prev[0]
	for _, u := range prev[1:] {
		if u.end >= last.end {
			last = u
		}
	}
	gap := r.StartMS - last.end
	if gap < ru.MinGap.Milliseconds() {
		return false
	}
	e.GapMS, e.PreviousUtteranceID = gap, last.id
	return true
}

// languageSwitch matches when r's language differs from the one of the latest utterance before
// it that has a language (of the rule's role, with one).
func (ru rule) languageSwitch(e *wire.Event, prev []brief, r *wire.Result) bool {
	if r.Language == "" {
		return false
	}
	for i := len(prev) - 1; i >= 0; i-- {
		u := prev[i]
		if u.language == "" || (ru.Role != "" && u.role != ru.Role) {
			continue
		}
		if u.language == r.Language {
			return false
		}
		e.FromLanguage, e.PreviousUtteranceID = u.language, u.id
		return true
	}
	return false
}

// labelScore matches when r's score for the rule's label is at least min_score; a result without
// scores never matches.
func (ru rule) labelScore(e *wire.Event, r *wire.Result) bool {
	s, ok := r.Scores[ru.Label]
	if !ok || s < ru.MinScore {
		return false
	}
	e.ScoreLabel, e.Score, e.MinScore = ru.Label, s, ru.MinScore
	return true
}
