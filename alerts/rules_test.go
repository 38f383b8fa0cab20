package alerts

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/wire"
)

// utt is a result in a test: its number n gives its id; role, span, language, label.
type utt struct {
	n          int
	role       string
	start, end int64
	lang       string
	label      string
	neg        float64
	text       string
}

func (u utt) result() *wire.Result {
	r := &wire.Result{CallID: "c1", UtteranceID: id(u.n), Role: u.role, StartMS: u.start, EndMS: u.end, Language: u.lang, Label: u.label}
	if u.label != "" {
		r.Scores = map[string]float64{"negative": u.neg, "neutral": 1 - u.neg, "positive": 0}
	}
	return r
}

func id(n int) string { return wire.UtteranceID("c1", 0, int64(n)) }

// fired evaluates the utterances in order and returns, per utterance number, the rules that
// matched at it, with the event checked against its schema.
func fired(t *testing.T, rules []config.AlertRule, utts []utt) map[int][]wire.Event {
	t.Helper()
	rs, c := New(rules), NewCall()
	out := map[int][]wire.Event{}
	for _, u := range utts {
		evs := rs.Evaluate(c, u.result(), u.text)
		for _, e := range evs {
			b, err := wire.MarshalEvent(&e)
			if err != nil {
				t.Fatal(err)
			}
			if err := wire.ValidateEvent(b); err != nil {
				t.Errorf("event %s fails the schema: %v", b, err)
			}
		}
		if len(evs) > 0 {
			out[u.n] = evs
		}
	}
	return out
}

func at(m map[int][]wire.Event) []int {
	var ns []int
	for n := range m {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

func TestRuleKinds(t *testing.T) {
	streak := config.AlertRule{Name: "streak", Kind: config.AlertNegativeStreak, Role: "customer", Count: 3}
	phrase := config.AlertRule{Name: "cancel", Kind: config.AlertPhrase, Phrases: map[string][]string{
		"en": {"cancel my appointment"}, "vi": {"hủy lịch hẹn"}, "zh": {"取消预约"}, "de": {"Termin absagen"}}}
	silence := config.AlertRule{Name: "gap", Kind: config.AlertSilence, MinGap: 10 * time.Second}
	sw := config.AlertRule{Name: "switch", Kind: config.AlertLanguageSwitch}
	score := config.AlertRule{Name: "very-negative", Kind: config.AlertLabelScore, Label: "negative", MinScore: 0.9}
	c, a := "customer", "agent"
	for _, tc := range []struct {
		name string
		rule config.AlertRule
		utts []utt
		want []int
	}{
		{"streak of three", streak, []utt{{n: 1, role: c, label: "negative"}, {n: 2, role: c, label: "negative"}, {n: 3, role: c, label: "negative"}, {n: 4, role: c, label: "negative"}}, []int{3}},
		{"streak broken", streak, []utt{{n: 1, role: c, label: "negative"}, {n: 2, role: c, label: "neutral"}, {n: 3, role: c, label: "negative"}, {n: 4, role: c, label: "negative"}}, nil},
		{"streak again after a break", streak, []utt{{n: 1, role: c, label: "negative"}, {n: 2, role: c, label: "negative"}, {n: 3, role: c, label: "negative"},
			{n: 4, role: c, label: "positive"}, {n: 5, role: c, label: "negative"}, {n: 6, role: c, label: "negative"}, {n: 7, role: c, label: "negative"}}, []int{3, 7}},
		{"streak: other roles between do not break it", streak, []utt{{n: 1, role: c, label: "negative"}, {n: 2, role: a, label: "positive"}, {n: 3, role: c, label: "negative"},
			{n: 4, role: a, label: "neutral"}, {n: 5, role: c, label: "negative"}}, []int{5}},
		{"streak: the agent's do not count", streak, []utt{{n: 1, role: a, label: "negative"}, {n: 2, role: a, label: "negative"}, {n: 3, role: a, label: "negative"}}, nil},
		{"streak: unlabelled utterances are skipped", streak, []utt{{n: 1, role: c, label: "negative"}, {n: 2, role: c}, {n: 3, role: c, label: "negative"}, {n: 4, role: c, label: "negative"}}, []int{4}},
		{"phrase, case and punctuation", phrase, []utt{{n: 1, lang: "en", text: "Please, CANCEL my   appointment!"}}, []int{1}},
		{"phrase, Vietnamese decomposed (NFD)", phrase, []utt{{n: 1, lang: "vi", text: "Tôi muốn hu\u0309y li\u0323ch he\u0323n."}}, []int{1}},
		{"phrase, Chinese inside a sentence", phrase, []utt{{n: 1, lang: "zh", text: "我想取消预约。"}}, []int{1}},
		{"phrase, German case", phrase, []utt{{n: 1, lang: "de", text: "Ich muss den TERMIN ABSAGEN."}}, []int{1}},
		{"phrase, not part of a word", phrase, []utt{{n: 1, lang: "en", text: "uncancel my appointments"}}, nil},
		{"phrase, of another language", phrase, []utt{{n: 1, lang: "fr", text: "cancel my appointment"}}, nil},
		{"silence", silence, []utt{{n: 1, start: 0, end: 2000}, {n: 2, start: 5000, end: 7000}, {n: 3, start: 17000, end: 18000}}, []int{3}},
		{"silence, overlapping speech of another role counts as speech", silence, []utt{{n: 1, start: 0, end: 12000}, {n: 2, start: 1000, end: 2000, role: a}, {n: 3, start: 15000, end: 16000}}, nil},
		{"silence, not before the first utterance", silence, []utt{{n: 1, start: 30000, end: 32000}}, nil},
		{"language switch", sw, []utt{{n: 1, start: 0, lang: "en"}, {n: 2, start: 10, lang: "en"}, {n: 3, start: 20, lang: "de"}, {n: 4, start: 30, lang: "de"}, {n: 5, start: 40, lang: "en"}}, []int{3, 5}},
		{"language switch, no language is not a switch", sw, []utt{{n: 1, start: 0, lang: "en"}, {n: 2, start: 10}, {n: 3, start: 20, lang: "en"}}, nil},
		{"label score", score, []utt{{n: 1, label: "negative", neg: 0.95}, {n: 2, label: "negative", neg: 0.89}, {n: 3, label: "neutral", neg: 0.9}}, []int{1, 3}},
		{"label score, no scores", score, []utt{{n: 1}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.utts {
				if tc.utts[i].start == 0 && tc.utts[i].end == 0 {
					tc.utts[i].start, tc.utts[i].end = int64(i)*1000, int64(i)*1000+500
				}
				if tc.utts[i].role == "" {
					tc.utts[i].role = c
				}
			}
			got := fired(t, []config.AlertRule{tc.rule}, tc.utts)
			if fmt.Sprint(at(got)) != fmt.Sprint(tc.want) {
				t.Errorf("matched at %v, want %v", at(got), tc.want)
			}
		})
	}
}

func TestEventDetails(t *testing.T) {
	rules := []config.AlertRule{
		{Name: "streak", Kind: config.AlertNegativeStreak, Count: 2},
		{Name: "gap", Kind: config.AlertSilence, MinGap: time.Second},
		{Name: "switch", Kind: config.AlertLanguageSwitch},
		{Name: "neg", Kind: config.AlertLabelScore, Label: "negative", MinScore: 0.5},
		{Name: "cancel", Kind: config.AlertPhrase, Phrases: map[string][]string{"de": {"absagen", "Termin absagen"}}},
	}
	got := fired(t, rules, []utt{{n: 1, role: "customer", start: 0, end: 1000, lang: "en", label: "negative", neg: 0.4},
		{n: 2, role: "customer", start: 3500, end: 5000, lang: "de", label: "negative", neg: 0.7, text: "Termin absagen"}})
	evs := got[2]
	if len(evs) != 5 {
		t.Fatalf("events at utterance 2: %+v", evs)
	}
	if e := evs[0]; e.Rule != "streak" || e.Count != 2 || fmt.Sprint(e.StreakUtteranceIDs) != fmt.Sprint([]string{id(1), id(2)}) {
		t.Errorf("streak event: %+v", e)
	}
	if e := evs[1]; e.GapMS != 2500 || e.PreviousUtteranceID != id(1) {
		t.Errorf("silence event: %+v", e)
	}
	if e := evs[2]; e.FromLanguage != "en" || e.Language != "de" || e.PreviousUtteranceID != id(1) {
		t.Errorf("switch event: %+v", e)
	}
	if e := evs[3]; e.ScoreLabel != "negative" || e.Score != 0.7 || e.MinScore != 0.5 {
		t.Errorf("score event: %+v", e)
	}
	if e := evs[4]; e.Phrase != "absagen" || e.EventID != wire.EventID("cancel", "c1", id(2)) {
		t.Errorf("phrase event: %+v", e)
	}
}

// The events depend on the results, not on the order they were added in, as long as each
// utterance's predecessors come first; an utterance evaluated again (a replay) gives the same
// events, and a call rebuilt from its published results goes on as the original would.
func TestReplayAndRebuild(t *testing.T) {
	rules := New([]config.AlertRule{{Name: "streak", Kind: config.AlertNegativeStreak, Count: 3}, {Name: "switch", Kind: config.AlertLanguageSwitch}})
	utts := []utt{{n: 1, start: 0, lang: "en", label: "negative"}, {n: 2, start: 1000, lang: "de", label: "negative"},
		{n: 3, start: 2000, lang: "de", label: "negative"}, {n: 4, start: 3000, lang: "en", label: "negative"}}
	c := NewCall()
	var first []string
	for _, u := range utts {
		for _, e := range rules.Evaluate(c, u.result(), "") {
			first = append(first, e.EventID)
		}
	}
	again := rules.Evaluate(c, utts[2].result(), "")
	if len(again) != 1 || again[0].Rule != "streak" || c.Len() != 4 {
		t.Errorf("utterance 3 evaluated again: %+v (call holds %d)", again, c.Len())
	}
	// An instance taking the call over after utterance 2 rebuilds it from the published results.
	rebuilt := NewCall()
	rebuilt.Add(utts[1].result())
	rebuilt.Add(utts[0].result())
	var second []string
	for _, e := range rules.Evaluate(rebuilt, utts[1].result(), "") { // utterance 2 redelivered
		second = append(second, e.EventID)
	}
	for _, u := range utts[2:] {
		for _, e := range rules.Evaluate(rebuilt, u.result(), "") {
			second = append(second, e.EventID)
		}
	}
	if fmt.Sprint(first) != fmt.Sprint(second) {
		t.Errorf("rebuilt call's events %v, want the original's %v", second, first)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"  Hello,   WORLD!! ": "hello world",
		"Straße":              "strasse",
		"hu\u0309y":           "hủy",
		"取消，预约":               "取消 预约",
	} {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
