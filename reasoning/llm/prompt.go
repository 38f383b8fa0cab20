package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sentio-health/sentio/wire"
)

// Labels are the labels an answer may give, in the order of Scores: the wire contract's.
var Labels = wire.Labels

// Example is a labelled utterance shown to the model before the one it answers (few-shot).
type Example struct {
	// Lang is the example's ISO 639-1 language.
	Lang string `json:"lang"`
	// Text is the utterance.
	Text string `json:"text"`
	// Label is its gold label.
	Label string `json:"label"`
	// Rationale is the annotator's rationale.
	Rationale string `json:"rationale"`
}

// Prompt builds the messages of a request.
type Prompt struct {
	// Examples are the few-shot examples by language, in the order they are shown.
	Examples map[string][]Example
	// FewShot is how many examples of the utterance's language are shown.
	FewShot int
	// ContextUtterances and ContextChars bound the previous utterances shown: at most that many,
	// the most recent ones, and at most that many characters together.
	ContextUtterances, ContextChars int
	// RationaleMaxChars bounds the rationale (the schema's maxLength).
	RationaleMaxChars int
}

// languageNames are the names the instruction uses for the rationale's language.
var languageNames = map[string]string{"vi": "Vietnamese", "en": "English", "zh": "Chinese", "de": "German", "fr": "French"}

// LanguageName is the English name of an ISO 639-1 code (the code itself when unknown).
func LanguageName(lang string) string {
	if n, ok := languageNames[lang]; ok {
		return n
	}
	return lang
}

// instruction is the task, as the paper poses it.
const instruction = "You annotate the sentiment of utterances from doctor-patient conversations. " +
	"Classify the utterance as negative, neutral or positive: negative for distress, pain, worsening or bad news; " +
	"positive for relief, improvement, thanks or good news; neutral for objective, factual or procedural speech. " +
	"Answer with a JSON object: \"label\" (negative, neutral or positive) and \"rationale\", " +
	"a short phrase of a few words explaining the label, written in %s."

// Messages returns the chat messages asking about text in lang, after the previous utterances
// context (oldest first).
func (p *Prompt) Messages(text, lang string, context []string) []Message {
	msgs := []Message{{Role: "system", Content: fmt.Sprintf(instruction, LanguageName(lang))}}
	ex := p.Examples[lang]
	if len(ex) > p.FewShot {
		ex = ex[:p.FewShot]
	}
	for _, e := range ex {
		a, _ := json.Marshal(Answer{Label: e.Label, Rationale: e.Rationale})
		msgs = append(msgs, Message{Role: "user", Content: "Utterance: " + e.Text}, Message{Role: "assistant", Content: string(a)})
	}
	var b strings.Builder
	if ctx := p.boundContext(context); len(ctx) > 0 {
		b.WriteString("Previous utterances of the conversation (context only, do not label them):\n")
		for _, c := range ctx {
			b.WriteString("- " + c + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("Utterance: " + text)
	return append(msgs, Message{Role: "user", Content: b.String()})
}

// boundContext keeps the most recent utterances within the bounds.
func (p *Prompt) boundContext(context []string) []string {
	if p.ContextUtterances <= 0 || len(context) == 0 {
		return nil
	}
	if len(context) > p.ContextUtterances {
		context = context[len(context)-p.ContextUtterances:]
	}
	chars, first := 0, len(context)
	for i := len(context) - 1; i >= 0; i-- {
		chars += utf8.RuneCountInString(context[i])
		if p.ContextChars > 0 && chars > p.ContextChars {
			break
		}
		first = i
	}
	return context[first:]
}

// Schema is the JSON schema of an answer: the label, one of Labels, and a rationale of 1 to
// maxChars characters. The properties are in the order the answer gives them (label first).
func Schema(maxChars int) json.RawMessage {
	enum, err := json.Marshal(Labels)
	if err != nil {
		panic(err) // a []string always marshals
	}
	return json.RawMessage(fmt.Sprintf(`{"type":"object","properties":{"label":{"type":"string","enum":%s},`+
		`"rationale":{"type":"string","minLength":1,"maxLength":%d}},"required":["label","rationale"],"additionalProperties":false}`, enum, maxChars))
}

// Answer is a parsed answer.
type Answer struct {
	Label     string `json:"label"`
	Rationale string `json:"rationale"`
}

// ErrMalformed is an answer that does not parse into a label and a rationale.
var ErrMalformed = errors.New("llm: malformed answer")

// ParseAnswer parses the content of an answer: one JSON object (a Markdown code fence around it is
// allowed) with a label among Labels and a non-empty rationale.
func ParseAnswer(content string) (Answer, error) {
	s := strings.TrimSpace(content)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(strings.TrimPrefix(s, "```"), "json")
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
	}
	var a Answer
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Answer{}, fmt.Errorf("%w: not a JSON object with label and rationale (%v)", ErrMalformed, err)
	}
	if dec.More() {
		return Answer{}, fmt.Errorf("%w: text after the JSON object", ErrMalformed)
	}
	if !isLabel(a.Label) {
		return Answer{}, fmt.Errorf("%w: the label is not one of negative, neutral, positive", ErrMalformed)
	}
	a.Rationale = strings.TrimSpace(a.Rationale)
	if a.Rationale == "" {
		return Answer{}, fmt.Errorf("%w: empty rationale", ErrMalformed)
	}
	return a, nil
}

func isLabel(s string) bool {
	for _, l := range Labels {
		if s == l {
			return true
		}
	}
	return false
}
