// Command evalgen writes the redaction evaluation set, redact/testdata/eval/<lang>.jsonl: per
// language, synthetic sentences with planted entities and their gold spans (code-point offsets),
// plus sentences without any entity that hold the number words and titles a redactor must leave
// alone; and redact/testdata/eval/untuned/<lang>.jsonl, sentences in the forms of real callers
// that were never used to change the rules (untuned.go). The seed is fixed, so the files are
// reproducible:
//
//	go run ./redact/evalgen -out redact/testdata/eval
//
// The sentences and values were written by the author of the redaction rules: the figures they
// give overstate what real transcripts will show.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Entity is a gold entity: type and code-point offsets.
type Entity struct {
	Type  string `json:"type"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Sentence is one line of the evaluation set.
type Sentence struct {
	ID       string   `json:"id"`
	Lang     string   `json:"lang"`
	Text     string   `json:"text"`
	Entities []Entity `json:"entities"`
}

// perLang is the number of sentences with planted entities per language; the negatives come on
// top.
const perLang = 90

func main() {
	out := flag.String("out", "redact/testdata/eval", "output directory")
	flag.Parse()
	for _, lang := range []string{"en", "de", "fr", "vi", "zh"} {
		rng := rand.New(rand.NewPCG(14, uint64(len(lang)*31+int(lang[0]))))
		g := gens[lang]
		var lines []Sentence
		for i := 0; i < perLang; i++ {
			tpl := g.templates[i%len(g.templates)]
			s := fill(tpl, g, rng)
			s.ID = fmt.Sprintf("%s-%03d", lang, i)
			s.Lang = lang
			lines = append(lines, s)
		}
		for i, neg := range g.negatives {
			lines = append(lines, Sentence{ID: fmt.Sprintf("%s-neg-%02d", lang, i), Lang: lang, Text: neg, Entities: []Entity{}})
		}
		if err := write(filepath.Join(*out, lang+".jsonl"), lines); err != nil {
			log.Fatal(err)
		}
		var hard []Sentence
		for i, u := range untuned[lang] {
			s := markup(u)
			s.ID, s.Lang = fmt.Sprintf("%s-untuned-%02d", lang, i), lang
			hard = append(hard, s)
		}
		if err := write(filepath.Join(*out, "untuned", lang+".jsonl"), hard); err != nil {
			log.Fatal(err)
		}
	}
}

// markup reads a sentence with inline entities, <TYPE:text>.
func markup(u string) Sentence {
	var b strings.Builder
	ents := []Entity{}
	for {
		i := strings.IndexByte(u, '<')
		if i < 0 {
			b.WriteString(u)
			break
		}
		j := strings.IndexByte(u[i:], '>') + i
		b.WriteString(u[:i])
		typ, text, _ := strings.Cut(u[i+1:j], ":")
		start := utf8.RuneCountInString(b.String())
		b.WriteString(text)
		ents = append(ents, Entity{Type: typ, Start: start, End: utf8.RuneCountInString(b.String())})
		u = u[j+1:]
	}
	return Sentence{Text: b.String(), Entities: ents}
}

func write(path string, lines []Sentence) error {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// fill replaces each {TYPE} slot of tpl by a value of that type and records its gold span.
func fill(tpl string, g gen, rng *rand.Rand) Sentence {
	var b strings.Builder
	var ents []Entity
	for {
		i := strings.IndexByte(tpl, '{')
		if i < 0 {
			b.WriteString(tpl)
			break
		}
		j := strings.IndexByte(tpl[i:], '}') + i
		b.WriteString(tpl[:i])
		typ := tpl[i+1 : j]
		vals := g.values[typ]
		if len(vals) == 0 {
			log.Fatalf("no values for %s", typ)
		}
		v := vals[rng.IntN(len(vals))]
		// A value may hold context around the entity, which is then in < >: "Dr. <Patel>"
		// plants only Patel.
		pre, ent, post := "", v, ""
		if a := strings.IndexByte(v, '<'); a >= 0 {
			z := strings.IndexByte(v, '>')
			pre, ent, post = v[:a], v[a+1:z], v[z+1:]
		}
		b.WriteString(pre)
		start := utf8.RuneCountInString(b.String())
		b.WriteString(ent)
		ents = append(ents, Entity{Type: typ, Start: start, End: utf8.RuneCountInString(b.String())})
		b.WriteString(post)
		tpl = tpl[j+1:]
	}
	return Sentence{Text: b.String(), Entities: ents}
}

// gen is the material of one language.
type gen struct {
	templates []string
	values    map[string][]string
	negatives []string
}
