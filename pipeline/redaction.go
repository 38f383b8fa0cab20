package pipeline

import (
	"context"
	"fmt"
	"strings"

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
// overlap or meet are merged (weights added). The evidence must be in order, as package
// reasoning gives it.
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
	for _, ev := range r.Evidence {
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
		redactWords(r.Words, orig, m.Original, x.r, r.Language)
	}
	r.Redaction = info
}

// redactWords replaces the text of each word that overlaps an entity of transcript by the
// entity's placeholder, keeping its times. Words are found in the transcript in order; a word
// that cannot be found there is redacted on its own.
func redactWords(words []wire.Word, transcript string, ents []redact.Entity, r *redact.Redactor, lang string) {
	runes := []rune(transcript)
	pos := 0 // rune offset where the next word is looked for
	for i := range words {
		w := strings.TrimSpace(words[i].Text)
		if w == "" {
			continue
		}
		at := strings.Index(string(runes[pos:]), w)
		if at < 0 {
			words[i].Text, _ = r.Redact(words[i].Text, lang)
			continue
		}
		s := pos + len([]rune(string(runes[pos:])[:at]))
		e := s + len([]rune(w))
		pos = e
		for _, en := range ents {
			if en.Start < e && s < en.End {
				words[i].Text = redact.Placeholder(en.Type)
				break
			}
		}
	}
}
