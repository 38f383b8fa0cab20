package llm

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sentio-health/sentio/wire"
)

func lp(p float64) float64 { return math.Log(p) }

func TestLabelScores(t *testing.T) {
	// Character tokens: "n" is shared by negative and neutral, "e" too; "u" decides.
	chars := []TokenLogprob{
		{Token: "{", Logprob: lp(1)}, {Token: `"label"`, Logprob: lp(1)}, {Token: ":", Logprob: lp(1)}, {Token: ` "`, Logprob: lp(1)},
		{Token: "n", Logprob: lp(0.6), TopLogprobs: []TopLogprob{{"n", lp(0.6)}, {"p", lp(0.2)}, {"x", lp(0.2)}}},
		{Token: "e", Logprob: lp(0.9), TopLogprobs: []TopLogprob{{"e", lp(0.9)}, {"o", lp(0.1)}}},
		{Token: "u", Logprob: lp(0.75), TopLogprobs: []TopLogprob{{"u", lp(0.75)}, {"g", lp(0.25)}}},
		{Token: "tral", Logprob: lp(1)},
	}
	content := `{"label": "neutral", "rationale": "objective"}`
	sc, ok := LabelScores(content, "neutral", chars)
	if !ok {
		t.Fatal("no scores")
	}
	// "x" fits no label: the position is renormalised over n (0.75) and p (0.25); "e" is the only
	// fitting candidate after "n"; then u 0.75, g 0.25.
	want := [3]float64{0.75 * 0.25, 0.75 * 0.75, 0.25}
	for k := range 3 {
		if math.Abs(sc[k]-want[k]) > 1e-9 {
			t.Errorf("scores %v, want %v", sc, want)
			break
		}
	}

	// Whole-word tokens with the quote attached, as larger vocabularies have them.
	words := []TokenLogprob{
		{Token: `{"`, Logprob: 0}, {Token: `label`, Logprob: 0}, {Token: `":`, Logprob: 0},
		{Token: ` "neg`, Logprob: lp(0.5), TopLogprobs: []TopLogprob{{` "neg`, lp(0.5)}, {` "pos`, lp(0.3)}, {` "neut`, lp(0.1)}, {`"neg`, lp(0.1)}}},
		{Token: `ative`, Logprob: 0},
	}
	sc, ok = LabelScores(`{"label": "negative", "rationale": "pain"}`, "negative", words)
	if !ok || math.Abs(sc[0]-5.0/9) > 1e-9 || math.Abs(sc[1]-1.0/9) > 1e-9 || math.Abs(sc[2]-3.0/9) > 1e-9 {
		t.Errorf("word tokens: %v %v", sc, ok)
	}

	if _, ok := LabelScores(content, "neutral", nil); ok {
		t.Error("scores without log-probabilities")
	}
	if _, ok := LabelScores(`{"label": "neutral"}`, "neutral", []TokenLogprob{{Token: "something else"}}); ok {
		t.Error("scores from tokens that do not spell the answer")
	}
}

func TestParseAnswer(t *testing.T) {
	for _, c := range []struct{ in, label string }{
		{`{"label": "positive", "rationale": "relief"}`, "positive"},
		{"```json\n{\"label\":\"negative\",\"rationale\":\"pain\"}\n```", "negative"},
		{` { "label" : "neutral", "rationale": " objective description " } `, "neutral"},
	} {
		a, err := ParseAnswer(c.in)
		if err != nil || a.Label != c.label || a.Rationale != strings.TrimSpace(a.Rationale) {
			t.Errorf("%q: %+v %v", c.in, a, err)
		}
	}
	for _, in := range []string{"", "positive", `{"label": "happy", "rationale": "x"}`, `{"label": "neutral"}`,
		`{"label": "neutral", "rationale": ""}`, `{"label": "neutral", "rationale": "x", "score": 1}`, `{"label": "neutral", "rationale": "x"} more`} {
		if _, err := ParseAnswer(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", in, err)
		}
	}
}

func TestPromptMessages(t *testing.T) {
	p := Prompt{Examples: map[string][]Example{
		"de": {{Lang: "de", Text: "Schmerz", Label: "negative", Rationale: "Schmerzen"}, {Lang: "de", Text: "gut", Label: "positive", Rationale: "Besserung"}},
		"en": {{Lang: "en", Text: "pain", Label: "negative", Rationale: "pain"}},
	}, FewShot: 1, ContextUtterances: 2, ContextChars: 12}
	msgs := p.Messages("Es geht besser.", "de", []string{"first one", "second", "third"})
	if len(msgs) != 4 || msgs[0].Role != "system" || !strings.Contains(msgs[0].Content, "German") {
		t.Fatalf("messages %+v", msgs)
	}
	if msgs[1].Content != "Utterance: Schmerz" || msgs[2].Content != `{"label":"negative","rationale":"Schmerzen"}` {
		t.Errorf("few-shot %+v", msgs[1:3])
	}
	last := msgs[3].Content
	// At most 2 utterances and 12 characters: "second" and "third" (11), not "first one".
	if !strings.Contains(last, "- second\n- third\n") || strings.Contains(last, "first") || !strings.HasSuffix(last, "Utterance: Es geht besser.") {
		t.Errorf("last message %q", last)
	}
	if n := len(p.Messages("x", "vi", nil)); n != 2 {
		t.Errorf("no examples in vi: %d messages, want 2", n)
	}
}

// The answer schema admits exactly the wire contract's labels and the rationale length asked for.
func TestSchemaAdmitsTheWireLabels(t *testing.T) {
	var s struct {
		Properties struct {
			Label     struct{ Enum []string }
			Rationale struct{ MaxLength int }
		}
	}
	if err := json.Unmarshal(Schema(120), &s); err != nil {
		t.Fatalf("Schema is not JSON: %v", err)
	}
	if !slices.Equal(s.Properties.Label.Enum, wire.Labels) || s.Properties.Rationale.MaxLength != 120 {
		t.Fatalf("schema enum %v, maxLength %d; want %v, 120", s.Properties.Label.Enum, s.Properties.Rationale.MaxLength, wire.Labels)
	}
}

// The endpoint that logs and model information show has no password or token in it.
func TestEndpointHidesCredentials(t *testing.T) {
	for _, u := range []string{"https://sentio:s3cret-pass@llm.internal:8443/v1", "http://s3cret-token@127.0.0.1:8080/v1"} {
		c, err := NewClient(ClientConfig{URL: u})
		if err != nil {
			t.Fatal(err)
		}
		if e := c.Endpoint(); strings.Contains(e, "s3cret") || !strings.Contains(e, "/chat/completions") {
			t.Errorf("Endpoint() = %q for %q; want the URL without its secret", e, u)
		}
	}
	if _, err := NewClient(ClientConfig{URL: "ftp://user:s3cret@host/"}); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error for an ftp URL: %v; want one that does not quote the password", err)
	}
}
