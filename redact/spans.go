package redact

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// span is an entity in byte offsets, while it is being found.
type span struct {
	t          Type
	start, end int
}

// priority orders the types when two candidate spans overlap: the first wins.
var priority = map[Type]int{Email: 0, URL: 1, ID: 2, Phone: 3, Date: 4, Time: 5, Age: 6, Amount: 7, Name: 8, Number: 9}

// resolve keeps non-overlapping spans: of two that overlap, the one of the higher-priority type,
// then the longer one.
func resolve(cands []span) []span {
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if priority[a.t] != priority[b.t] {
			return priority[a.t] < priority[b.t]
		}
		return a.end-a.start > b.end-b.start
	})
	var kept []span
	for _, c := range cands {
		if c.end <= c.start {
			continue
		}
		ok := true
		for _, k := range kept {
			if c.start < k.end && k.start < c.end {
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, c)
		}
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].start < kept[j].start })
	return kept
}

// toRunes converts byte-offset spans (sorted, not overlapping) of text to entities with rune
// offsets.
func toRunes(text string, spans []span) []Entity {
	out := make([]Entity, 0, len(spans))
	pos, runes := 0, 0
	at := func(b int) int {
		runes += utf8.RuneCountInString(text[pos:b])
		pos = b
		return runes
	}
	for _, s := range spans {
		st := at(s.start)
		out = append(out, Entity{Type: s.t, Start: st, End: at(s.end)})
	}
	return out
}

// Apply replaces each entity of text (rune offsets, sorted, not overlapping) by its placeholder.
// It returns the redacted text and the entities' spans in it (each covering its placeholder).
func Apply(text string, ents []Entity) (string, []Entity) {
	if len(ents) == 0 {
		return text, nil
	}
	runes := []rune(text)
	var b strings.Builder
	out := make([]Entity, 0, len(ents))
	pos, n := 0, 0
	for _, e := range ents {
		b.WriteString(string(runes[pos:e.Start]))
		n += e.Start - pos
		ph := Placeholder(e.Type)
		b.WriteString(ph)
		l := utf8.RuneCountInString(ph)
		out = append(out, Entity{Type: e.Type, Start: n, End: n + l})
		n += l
		pos = e.End
	}
	b.WriteString(string(runes[pos:]))
	return b.String(), out
}

// Mapping relates rune offsets of a text to those of its redaction: Original are the entities
// in the text, Redacted the same entities in the redacted text (as [Apply] returns them).
type Mapping struct {
	Original, Redacted []Entity
}

// ToRedacted maps the span [start, end) of the original text to the redacted text. A span that
// starts or ends inside an entity grows to cover the entity's whole placeholder.
func (m Mapping) ToRedacted(start, end int) (int, int) {
	return mapOffset(m.Original, m.Redacted, start, false), mapOffset(m.Original, m.Redacted, end, true)
}

// ToOriginal maps the span [start, end) of the redacted text back to the original text. A span
// that starts or ends inside a placeholder grows to cover the whole entity.
func (m Mapping) ToOriginal(start, end int) (int, int) {
	return mapOffset(m.Redacted, m.Original, start, false), mapOffset(m.Redacted, m.Original, end, true)
}

// mapOffset maps offset x from the coordinates of from to those of to; an offset strictly inside
// an entity goes to its start, or to its end when isEnd.
func mapOffset(from, to []Entity, x int, isEnd bool) int {
	shift := 0
	for i, e := range from {
		if x <= e.Start {
			break
		}
		if x < e.End {
			if isEnd {
				return to[i].End
			}
			return to[i].Start
		}
		shift = to[i].End - e.End
	}
	return x + shift
}
