//go:build whisper

package pipeline

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// alertRules are the rules of the daemon tests: a phrase of the English sentence, a silence of
// 4 s, a language switch, a negative streak of two and a negative score of at least 0.5.
const alertRules = `[{name: headache, kind: phrase, phrases: {en: ["terrible headache"], de: ["kein Wort davon"]}},
 {name: long-silence, kind: silence, min_gap: 4s}, {name: switch, kind: language_switch},
 {name: two-negative, kind: negative_streak, count: 2}, {name: negative, kind: label_score, label: negative, min_score: 0.5}]`

// events reads the alert events of a call (want of them, or what came by the timeout), each
// checked against schema/event.v1.json and published with its event id as Nats-Msg-Id.
func events(t *testing.T, r *rig, callID string, want int, timeout time.Duration) []wire.Event {
	t.Helper()
	var out []wire.Event
	for _, m := range collect(t, r.js, r.cfg.NATS.ResultStream, wire.Subject(r.cfg.NATS.EventSubject, callID), want, timeout) {
		if err := wire.ValidateEvent(m.Data()); err != nil {
			t.Fatalf("published event fails schema v1: %v\n%s", err, m.Data())
		}
		var e wire.Event
		if err := json.Unmarshal(m.Data(), &e); err != nil {
			t.Fatal(err)
		}
		if m.Headers().Get(nats.MsgIdHdr) != e.EventID {
			t.Errorf("event %s published with Nats-Msg-Id %q", e.EventID, m.Headers().Get(nats.MsgIdHdr))
		}
		out = append(out, e)
	}
	return out
}

// TestDaemonAlerts streams an English corpus sentence, 6 s of silence and a German one through
// the real daemon with alert rules: the phrase rule matches the English utterance, the silence
// and language-switch rules the German one (the silence from the English utterance's end), and
// the negative streak of two matches the German one exactly when both are labelled negative, and
// the score rule each utterance whose negative score is at least 0.5.
// Each event is on sentio.events.<call_id> once, valid against its schema (which allows no
// transcript), with its deterministic id as Nats-Msg-Id.
func TestDaemonAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end with the real daemon and models")
	}
	r := daemonRig(t, "--set", "alerts.rules="+alertRules)
	en := voiced(speak(t, "en-us", testenv.CorpusSentence(t, "en.txt", 1)))
	de := voiced(speak(t, "de", testenv.CorpusSentence(t, "de.txt", 1)))
	pcm := make([]float32, segment16k(1))
	pcm = append(pcm, en...)
	pcm = append(pcm, make([]float32, segment16k(6))...)
	pcm = append(pcm, de...)
	pcm = append(pcm, make([]float32, segment16k(1.5))...)

	const call = "alerts-en-de"
	r.sendChunks(chunks(call, pcm, 200))
	sum := summaryOfWithin(t, r, call, 10*time.Minute)
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, wire.Subject(r.cfg.NATS.ResultSubject, call), sum.Utterances, 10*time.Second))
	if len(res) != 2 {
		t.Fatalf("%d results, want 2 (one per sentence)", len(res))
	}
	sort.Slice(res, func(i, j int) bool { return res[i].StartMS < res[j].StartMS })
	first, second := res[0], res[1]
	for _, x := range res {
		t.Logf("%d-%d ms %s %s %q", x.StartMS, x.EndMS, x.Language, x.Label, x.Transcript)
	}
	if first.Language != "en" || second.Language != "de" || !strings.Contains(strings.ToLower(first.Transcript), "terrible headache") {
		t.Fatalf("the daemon heard %s %q then %s %q; this test needs the corpus sentences transcribed", first.Language, first.Transcript, second.Language, second.Transcript)
	}
	want := map[string]string{"headache": first.UtteranceID, "long-silence": second.UtteranceID, "switch": second.UtteranceID}
	if first.Label == "negative" && second.Label == "negative" {
		want["two-negative"] = second.UtteranceID
	}
	var scored []string // the utterances the score rule matches, as their results give them
	for _, x := range res {
		if x.Scores["negative"] >= 0.5 {
			scored = append(scored, x.UtteranceID)
		}
	}
	// Read one more than expected: an extra event, or one published twice, would show.
	evs := events(t, r, call, len(want)+len(scored)+1, 5*time.Second)
	got := map[string]string{}
	var gotScored []string
	for _, e := range evs {
		if e.Rule == "negative" {
			gotScored = append(gotScored, e.UtteranceID)
			if e.ScoreLabel != "negative" || e.Score < 0.5 || e.MinScore != 0.5 {
				t.Errorf("score event %+v", e)
			}
			continue
		}
		if _, dup := got[e.Rule]; dup {
			t.Errorf("rule %s has two events", e.Rule)
		}
		got[e.Rule] = e.UtteranceID
		if e.CallID != call || e.EventID != wire.EventID(e.Rule, call, e.UtteranceID) {
			t.Errorf("event %+v: call or id", e)
		}
		switch e.Rule {
		case "headache":
			if e.Phrase != "terrible headache" || e.Language != "en" {
				t.Errorf("phrase event %+v", e)
			}
		case "long-silence":
			if e.GapMS != second.StartMS-first.EndMS || e.GapMS < 4000 || e.PreviousUtteranceID != first.UtteranceID {
				t.Errorf("silence event %+v; the results give a gap of %d ms", e, second.StartMS-first.EndMS)
			}
		case "switch":
			if e.FromLanguage != "en" || e.Language != "de" || e.PreviousUtteranceID != first.UtteranceID {
				t.Errorf("switch event %+v", e)
			}
		case "two-negative":
			if e.Count != 2 || len(e.StreakUtteranceIDs) != 2 || e.StreakUtteranceIDs[0] != first.UtteranceID {
				t.Errorf("streak event %+v", e)
			}
		}
	}
	sort.Strings(scored)
	sort.Strings(gotScored)
	if len(got) != len(want) || len(evs) != len(want)+len(scored) || strings.Join(gotScored, ",") != strings.Join(scored, ",") {
		t.Errorf("events at %v and score events at %v (%d events), want %v and %v", got, gotScored, len(evs), want, scored)
	}
	for rule, id := range want {
		if got[rule] != id {
			t.Errorf("rule %s matched at %q, want %q", rule, got[rule], id)
		}
	}
}
