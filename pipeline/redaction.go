package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/reasoning"
	"github.com/sentio-health/sentio/redact"
	"github.com/sentio-health/sentio/wire"
)

// redaction applies redact.mode to results (in the publish stage) and, with redact.reason_on:
// redacted, to the texts the reasoning model reads. A nil *redaction is mode off.
type redaction struct {
	r        *redact.Redactor
	mode     string
	reasonOn string
}

// newRedaction returns the redaction configured by c, nil when it is off.
func newRedaction(c config.Redact) *redaction {
	if c.Mode == "" || c.Mode == "off" {
		return nil
	}
	types, err := redact.ParseTypes(c.Types)
	if err == nil {
		var r *redact.Redactor
		r, err = redact.New(redact.Options{Types: types, MinSpokenDigits: c.MinSpokenDigits})
		if err == nil {
			return &redaction{r: r, mode: c.Mode, reasonOn: c.ReasonOn}
		}
	}
	// config.Validate checks redact.types against the same list: this is a programming error.
	panic(fmt.Sprintf("redact.types passed validation but %v", err))
}

// reasoner returns m, or with reason_on: redacted a Reasoner that hands m the utterance and its
// context redacted.
func (x *redaction) reasoner(m Reasoner) Reasoner {
	if x == nil || x.reasonOn != "redacted" || m == nil {
		return m
	}
	return redactingReasoner{m: m, r: x.r}
}

// redactingReasoner redacts what a Reasoner reads.
type redactingReasoner struct {
	m Reasoner
	r *redact.Redactor
}

func (rr redactingReasoner) Predict(ctx context.Context, in reasoning.Input) (reasoning.Result, error) {
	in.Text, _ = rr.r.Redact(in.Text, in.Lang)
	if len(in.Context) > 0 {
		c := make([]string, len(in.Context))
		for i, t := range in.Context {
			c[i], _ = rr.r.Redact(t, in.Lang)
		}
		in.Context = c
	}
	return rr.m.Predict(ctx, in)
}

// apply redacts or tags the texts of r in place and records the entities in r.Redaction. The
// evidence spans are offsets into the transcript the model read: with reason_on original they
// are mapped onto the redacted transcript (a span that cuts an entity grows to its whole
// placeholder), with reason_on redacted and mode tag back onto the original; spans that then
// overlap or meet are merged (weights added), in the order of the transcript.
func (x *redaction) apply(r *wire.Result) {
	if x == nil {
		return
	}
	orig := r.Transcript
	red, m := x.r.Redact(orig, r.Language)
	published, ents := orig, m.Original
	if x.mode == wire.RedactionRedact {
		published, ents = red, m.Redacted
	}
	info := &wire.Redaction{Mode: x.mode, ReasonOn: x.reasonOn, Entities: []wire.Entity{}}
	for _, e := range ents {
		info.Entities = append(info.Entities, wire.Entity{Type: string(e.Type), Field: "transcript", Start: e.Start, End: e.End})
	}
	readRedacted := x.reasonOn == "redacted"
	runes := []rune(published)
	var evidence []wire.Evidence
	inOrder := slices.Clone(r.Evidence)
	slices.SortStableFunc(inOrder, func(a, b wire.Evidence) int { return a.Start - b.Start })
	for _, ev := range inOrder {
		s, e := ev.Start, ev.End
		switch {
		case x.mode == wire.RedactionRedact && !readRedacted:
			s, e = m.ToRedacted(s, e)
		case x.mode == wire.RedactionTag && readRedacted:
			s, e = m.ToOriginal(s, e)
		}
		s, e = min(max(s, 0), len(runes)), min(max(e, 0), len(runes))
		e = max(e, s)
		// Spans that now overlap or meet (two words of one entity) merge, their weights added,
		// as package reasoning merges its spans.
		if n := len(evidence); n > 0 && s <= evidence[n-1].End {
			evidence[n-1].End = max(evidence[n-1].End, e)
			evidence[n-1].Weight += ev.Weight
			continue
		}
		evidence = append(evidence, wire.Evidence{Start: s, End: e, Weight: ev.Weight})
	}
	for i := range evidence {
		ev := &evidence[i]
		ev.Text = string(runes[ev.Start:ev.End])
		for _, en := range ents {
			if en.Start < ev.End && ev.Start < en.End {
				info.Entities = append(info.Entities, wire.Entity{Type: string(en.Type), Field: fmt.Sprintf("evidence[%d]", i),
					Start: max(en.Start, ev.Start) - ev.Start, End: min(en.End, ev.End) - ev.Start})
			}
		}
	}
	if r.Evidence != nil {
		r.Evidence = evidence
	}
	if r.Rationale != "" {
		rred, rm := x.r.Redact(r.Rationale, r.Language)
		rents := rm.Original
		if x.mode == wire.RedactionRedact {
			r.Rationale, rents = rred, rm.Redacted
		}
		for _, e := range rents {
			info.Entities = append(info.Entities, wire.Entity{Type: string(e.Type), Field: "rationale", Start: e.Start, End: e.End})
		}
	}
	if x.mode == wire.RedactionRedact {
		r.Transcript = red
		t := redactedText{original: orig, redacted: red, mapping: m, r: x.r, lang: r.Language}
		r.Words = t.words(r.Words)
	}
	r.Redaction = info
}

// redactedText is a result's transcript and its redaction, with what it takes to carry the
// redaction over to the transcript's words.
type redactedText struct {
	original string
	redacted string
	mapping  redact.Mapping   // between the offsets of original and redacted (runes)
	r        *redact.Redactor // redacts a word that is not found in original on its own
	lang     string           // the transcript's language
}

// words returns the words of the original transcript with the texts of the redacted one: the
// words of one entity become one word, the placeholder (with what follows the entity in its last
// word, such as punctuation), from the first word's start to the last one's end, so that the
// words' texts still join into the transcript. Words are found in the transcript in order; a word
// that cannot be found there is redacted on its own.
func (t redactedText) words(words []wire.Word) []wire.Word {
	runes, red, m := []rune(t.original), []rune(t.redacted), t.mapping
	out := make([]wire.Word, 0, len(words))
	pos := 0 // rune offset where the next word is looked for
	for _, wd := range words {
		text := wd.Text
		w := strings.TrimLeftFunc(text, unicode.IsSpace)
		at := -1
		if w != "" {
			at = strings.Index(string(runes[pos:]), w)
		}
		if at < 0 {
			if rt, _ := t.r.Redact(text, t.lang); rt != "" {
				wd.Text = rt
				out = append(out, wd)
			}
			continue
		}
		s := pos + utf8.RuneCountInString(string(runes[pos:])[:at])
		e := s + utf8.RuneCountInString(w)
		pos = e
		ps, _ := m.ToRedacted(s, s) // a start inside an entity: the placeholder's start
		_, ns := m.ToRedacted(s, s) // … or its end
		_, ne := m.ToRedacted(e, e)
		if ps != ns && len(out) > 0 {
			// The word starts inside the entity the word before began: they are one word now.
			last := &out[len(out)-1]
			last.Text += string(red[ns:max(ns, ne)])
			last.EndMS = max(last.EndMS, wd.EndMS)
			continue
		}
		wd.Text = text[:len(text)-len(w)] + string(red[ps:max(ps, ne)])
		out = append(out, wd)
	}
	return out
}
