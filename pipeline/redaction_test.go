package pipeline

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/reasoning"
	"github.com/sentio-health/sentio/wire"
)

// phiText is a transcript with a phone number, a weekday and a name.
const phiText = "Call me on 0912 345 678, I feel better since Monday, Dr. Smith."

// phiResult is a result of phiText as the model read it in its original form: the evidence cuts
// into the phone number.
func phiResult() *wire.Result {
	start := strings.Index(phiText, "345")
	end := strings.Index(phiText, "better") + len("better")
	return &wire.Result{SchemaVersion: wire.SchemaVersion, CallID: "c", UtteranceID: "u-000000000000000000000000", Mode: wire.ModeClip,
		Role: "patient", Transcript: phiText, Language: "en", LanguageConfidence: 0.9, LanguageSupported: true, LanguageSource: wire.SourceFused,
		Label: "positive", Scores: map[string]float64{"negative": 0.1, "neutral": 0.1, "positive": 0.8},
		Rationale: "The speaker feels better since Monday.",
		Evidence:  []wire.Evidence{{Text: phiText[start:end], Start: start, End: end, Weight: 1}},
		Words: []wire.Word{{Text: "Call"}, {Text: " me"}, {Text: " on"}, {Text: " 0912", StartMS: 300, EndMS: 400}, {Text: " 345", StartMS: 400, EndMS: 500},
			{Text: " 678,", StartMS: 500, EndMS: 600}, {Text: " I"}, {Text: " feel"}, {Text: " better"}, {Text: " since"}, {Text: " Monday,"}, {Text: " Dr."}, {Text: " Smith."}},
		Models: map[string]string{"asr": "x"}, TimingsMS: map[string]float64{"total": 1}}
}

func redactionFor(t *testing.T, mode, reasonOn string) *redaction {
	t.Helper()
	c := config.Defaults().Redact
	c.Mode, c.ReasonOn = mode, reasonOn
	return newRedaction(c)
}

// checkConsistent checks that each evidence text is its span of the transcript, that each
// entity's span lies in its field, and that the result passes the schema.
func checkConsistent(t *testing.T, r *wire.Result) {
	t.Helper()
	tr := []rune(r.Transcript)
	for _, e := range r.Evidence {
		if e.Start < 0 || e.End > len(tr) || string(tr[e.Start:e.End]) != e.Text {
			t.Errorf("evidence %q is not transcript[%d:%d] of %q", e.Text, e.Start, e.End, r.Transcript)
		}
	}
	for _, en := range r.Redaction.Entities {
		var field string
		switch {
		case en.Field == "transcript":
			field = r.Transcript
		case en.Field == "rationale":
			field = r.Rationale
		case strings.HasPrefix(en.Field, "evidence["):
			field = r.Evidence[int(en.Field[len("evidence[")]-'0')].Text
		}
		if en.Start < 0 || en.End > len([]rune(field)) || en.Start >= en.End {
			t.Errorf("entity %+v outside its field %q", en, field)
		}
	}
	data, err := wire.MarshalResult(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := wire.Validate(data); err != nil {
		t.Errorf("schema: %v\n%s", err, data)
	}
}

func TestRedactionModeRedact(t *testing.T) {
	r := phiResult()
	redactionFor(t, "redact", "original").apply(r)
	if want := "Call me on [PHONE], I feel better since [DATE], Dr. [NAME]."; r.Transcript != want {
		t.Errorf("transcript %q; want %q", r.Transcript, want)
	}
	if want := "[PHONE], I feel better"; r.Evidence[0].Text != want {
		t.Errorf("evidence %q; want %q (the span that cut the number covers its placeholder)", r.Evidence[0].Text, want)
	}
	if want := "The speaker feels better since [DATE]."; r.Rationale != want {
		t.Errorf("rationale %q; want %q", r.Rationale, want)
	}
	var words []string
	for _, w := range r.Words {
		words = append(words, w.Text)
	}
	if got := strings.Join(words, ""); got != r.Transcript {
		t.Errorf("words join into %q; want the transcript %q", got, r.Transcript)
	}
	if len(r.Words) != 11 || r.Words[3].Text != " [PHONE]," || r.Words[3].StartMS != 300 || r.Words[3].EndMS != 600 {
		t.Errorf("words %+v; want the phone number's three words as one, \" [PHONE],\" from 300 to 600 ms", r.Words)
	}
	got := map[string]int{}
	for _, e := range r.Redaction.Entities {
		got[e.Field+" "+e.Type]++
	}
	want := map[string]int{"transcript PHONE": 1, "transcript DATE": 1, "transcript NAME": 1, "evidence[0] PHONE": 1, "rationale DATE": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("entities %v; want %v", got, want)
			break
		}
	}
	if r.Redaction.Mode != "redact" || r.Redaction.ReasonOn != "original" {
		t.Errorf("redaction %+v", r.Redaction)
	}
	checkConsistent(t, r)
}

func TestRedactionModeTag(t *testing.T) {
	r := phiResult()
	ev := r.Evidence[0]
	redactionFor(t, "tag", "original").apply(r)
	if r.Transcript != phiText || r.Evidence[0] != ev || r.Words[3].Text != " 0912" {
		t.Errorf("tag changed the texts: %q %+v %q", r.Transcript, r.Evidence[0], r.Words[3].Text)
	}
	var phone wire.Entity
	for _, e := range r.Redaction.Entities {
		if e.Field == "transcript" && e.Type == "PHONE" {
			phone = e
		}
	}
	if got := string([]rune(phiText)[phone.Start:phone.End]); got != "0912 345 678" {
		t.Errorf("tagged phone %q", got)
	}
	checkConsistent(t, r)
}

// With reason_on redacted and mode tag, evidence given on the redacted text is mapped back onto
// the original transcript.
func TestRedactionTagReasonOnRedacted(t *testing.T) {
	x := redactionFor(t, "tag", "redacted")
	red, _ := x.r.Redact(phiText, "en")
	r := phiResult()
	s := strings.Index(red, "[PHONE]")
	r.Evidence = []wire.Evidence{{Text: "[PHONE], I", Start: s, End: s + len("[PHONE], I")}}
	x.apply(r)
	if want := "0912 345 678, I"; r.Evidence[0].Text != want {
		t.Errorf("evidence %q; want %q", r.Evidence[0].Text, want)
	}
	checkConsistent(t, r)
}

func TestRedactionOff(t *testing.T) {
	r := phiResult()
	redactionFor(t, "off", "original").apply(r)
	if r.Transcript != phiText || r.Redaction != nil {
		t.Errorf("mode off changed the result: %q %+v", r.Transcript, r.Redaction)
	}
}

// textASR hears the same text in every utterance.
type textASR struct{ text string }

func (a textASR) Transcribe(ctx context.Context, pcm []float32) (asr.Result, error) {
	return asr.Result{Text: a.text, Language: "en", LanguageProb: 0.9, LanguageProbs: map[string]float32{"en": 0.9},
		DurationMS: int64(len(pcm)) * 1000 / asr.SampleRate}, nil
}

// readingReasoner records what the model reads.
type readingReasoner struct {
	mu   sync.Mutex
	read []string
}

func (m *readingReasoner) Predict(ctx context.Context, in reasoning.Input) (reasoning.Result, error) {
	m.mu.Lock()
	m.read = append(m.read, in.Text)
	m.mu.Unlock()
	return fakeReasoner{}.Predict(ctx, in)
}

// Through the pipeline and NATS: with reason_on redacted the model reads the redacted
// transcript, and the published result has it with its entities; with original, it reads the
// transcript as heard.
func TestPipelineRedactsBeforeReasoning(t *testing.T) {
	for _, reasonOn := range []string{"redacted", "original"} {
		t.Run(reasonOn, func(t *testing.T) {
			cfg := testConfig()
			cfg.Redact.ReasonOn = reasonOn
			m := &readingReasoner{}
			parts := testParts(t, textASR{phiText})
			parts.Reasoner = m
			srv := testenv.RunJetStream(t)
			startComponent(t, srv.ClientURL(), cfg, parts, nil)
			r := &rig{t: t, srv: srv, cfg: cfg}
			r.nc, r.js = connect(t, srv.ClientURL())
			r.clip("redact-"+reasonOn, wav(tone(3, [2]float64{0.5, 2}), 16000), map[string]string{wire.HeaderEnd: "true"})
			res := results(t, collect(t, r.js, cfg.NATS.ResultStream, "sentio.results.redact-"+reasonOn, 1, 30*time.Second))
			if len(res) != 1 {
				t.Fatalf("%d results; want 1", len(res))
			}
			x := res[0]
			if want := "Call me on [PHONE], I feel better since [DATE], Dr. [NAME]."; x.Transcript != want || x.Redaction == nil || len(x.Redaction.Entities) < 3 {
				t.Fatalf("published %q %+v; want %q with its entities", x.Transcript, x.Redaction, want)
			}
			m.mu.Lock()
			read := m.read[0]
			m.mu.Unlock()
			if want := map[string]string{"redacted": x.Transcript, "original": phiText}[reasonOn]; read != want {
				t.Errorf("the model read %q; want %q", read, want)
			}
			if len(x.Evidence) != 1 || x.Evidence[0].Text != "better" {
				t.Errorf("evidence %+v; want better", x.Evidence)
			}
		})
	}
}

// Two evidence spans inside one entity ("nine", "o'clock") map onto one placeholder: they merge,
// their weights added, and the evidence stays in order without overlaps.
func TestRedactionMergesEvidenceOnAPlaceholder(t *testing.T) {
	text := "The appointment is on Monday at nine o'clock."
	r := phiResult()
	r.Transcript, r.Rationale, r.Words = text, "Neutral.", nil
	at := func(w string) (int, int) { i := strings.Index(text, w); return i, i + len(w) }
	s1, e1 := at("nine")
	s2, e2 := at("o'clock")
	r.Evidence = []wire.Evidence{{Text: "nine", Start: s1, End: e1, Weight: 0.5}, {Text: "o'clock", Start: s2, End: e2, Weight: 0.25}}
	redactionFor(t, "redact", "original").apply(r)
	if len(r.Evidence) != 1 || r.Evidence[0].Text != "[TIME]" || r.Evidence[0].Weight != 0.75 {
		t.Errorf("evidence %+v; want one [TIME] span of weight 0.75", r.Evidence)
	}
	checkConsistent(t, r)
}

// With reason_on redacted the model reads the context utterances (the llm kind's) redacted too.
func TestRedactingReasonerRedactsContext(t *testing.T) {
	m := &contextReasoner{}
	rr := redactionFor(t, "redact", "redacted").reasoner(m)
	if _, err := rr.Predict(context.Background(), reasoning.Input{Text: "I am Dr. Smith.", Lang: "en",
		Context: []string{"My number is 0912 345 678.", "Thanks."}}); err != nil {
		t.Fatal(err)
	}
	if m.in.Text != "I am Dr. [NAME]." || len(m.in.Context) != 2 || m.in.Context[0] != "My number is [PHONE]." || m.in.Context[1] != "Thanks." {
		t.Errorf("the model read %q with context %q", m.in.Text, m.in.Context)
	}
	if same := redactionFor(t, "redact", "original").reasoner(m); same != Reasoner(m) {
		t.Errorf("reason_on original wrapped the model")
	}
}

// contextReasoner keeps the last input.
type contextReasoner struct{ in reasoning.Input }

func (m *contextReasoner) Predict(ctx context.Context, in reasoning.Input) (reasoning.Result, error) {
	m.in = in
	return reasoning.Result{Label: reasoning.Neutral}, nil
}
