package redact

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultMinSpokenDigits is the shortest run of spoken number words taken as a number.
const DefaultMinSpokenDigits = 3

// Options configure a Redactor.
type Options struct {
	// Types are the entity types to find; empty finds all of Types.
	Types []Type
	// MinSpokenDigits is the shortest run of spoken number words ("oh nine one") that is a
	// number by itself, without a word around it that makes it a date, age, amount or time;
	// 0 means DefaultMinSpokenDigits. Digits written as digits are always a number.
	MinSpokenDigits int
}

// Redactor finds entities; it is safe for concurrent use.
type Redactor struct {
	types  map[Type]bool
	minRun int
}

// New returns a Redactor, or an error naming an unknown type.
func New(o Options) (*Redactor, error) {
	r := &Redactor{types: map[Type]bool{}, minRun: o.MinSpokenDigits}
	if r.minRun <= 0 {
		r.minRun = DefaultMinSpokenDigits
	}
	types := o.Types
	if len(types) == 0 {
		types = Types
	}
	for _, t := range types {
		t = Type(strings.ToUpper(string(t)))
		if !slices.Contains(Types, t) {
			return nil, fmt.Errorf("unknown entity type %q (known: %s)", t, typeList())
		}
		r.types[t] = true
	}
	return r, nil
}

// ParseTypes parses entity type names (case-insensitive).
func ParseTypes(names []string) ([]Type, error) {
	var out []Type
	for _, n := range names {
		t := Type(strings.ToUpper(strings.TrimSpace(n)))
		if !slices.Contains(Types, t) {
			return nil, fmt.Errorf("unknown entity type %q (known: %s)", n, typeList())
		}
		out = append(out, t)
	}
	return out, nil
}

func typeList() string {
	s := make([]string, len(Types))
	for i, t := range Types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// Find returns the entities of text, in order and not overlapping. lang is the text's ISO 639-1
// code (vi, en, zh, de, fr); for another or an empty one, only what needs no language is found
// (e-mail addresses, URLs, digits, dates and times in digits).
func (r *Redactor) Find(text, lang string) []Entity {
	if text == "" {
		return nil
	}
	f := newFinder(text, lang, r.minRun)
	spans := f.find()
	kept := spans[:0]
	for _, s := range spans {
		if r.types[s.t] {
			kept = append(kept, s)
		}
	}
	return toRunes(text, kept)
}

// Redact replaces the entities of text by their placeholders ("[PHONE]") and returns the
// redacted text and the mapping between the two.
func (r *Redactor) Redact(text, lang string) (string, Mapping) {
	ents := r.Find(text, lang)
	red, at := Apply(text, ents)
	return red, Mapping{Original: ents, Redacted: at}
}
