package pipeline

import (
	"math"
	"testing"

	"github.com/sentio-health/sentio/wire"
)

func TestConversationMetrics(t *testing.T) {
	db := func(v float64) *float64 { return &v }
	sc := func(neg, neu, pos float64) map[string]float64 {
		return map[string]float64{wire.LabelNegative: neg, wire.LabelNeutral: neu, wire.LabelPositive: pos}
	}
	words := func(n int) []wire.Word { return make([]wire.Word, n) }
	// agent 0-4 s and 9-10 s; customer 3-6 s (starts inside the agent's first utterance) and
	// 9.5-12 s (inside the second); an unlabelled customer utterance 13-16 s.
	rs := []wire.Result{
		{UtteranceID: "a1", Role: "agent", StartMS: 0, EndMS: 4000, Label: wire.LabelNeutral, Scores: sc(0.2, 0.6, 0.2), Words: words(10), LoudnessDBFS: db(-20)},
		{UtteranceID: "c1", Role: "customer", StartMS: 3000, EndMS: 6000, Label: wire.LabelNegative, Scores: sc(0.8, 0.1, 0.1), Words: words(6), LoudnessDBFS: db(-30)},
		{UtteranceID: "a2", Role: "agent", StartMS: 9000, EndMS: 10000, Label: wire.LabelPositive, Scores: sc(0, 0.2, 0.8), Transcript: "thank you so much", LoudnessDBFS: db(-10)},
		{UtteranceID: "c2", Role: "customer", StartMS: 9500, EndMS: 12000, Label: wire.LabelPositive, Scores: sc(0.1, 0.1, 0.8), Words: words(4)},
		{UtteranceID: "c3", Role: "customer", StartMS: 13000, EndMS: 16000, Words: words(5)},
	}
	m := conversation(rs, 16000)
	if m.DurationMS != 16000 || m.TalkMS != 6000+3000+3000 || m.NonTalkMS != 4000 {
		t.Errorf("duration %d, talk %d, non-talk %d; want 16000, 12000, 4000", m.DurationMS, m.TalkMS, m.NonTalkMS)
	}
	if m.OverlapMS != 1000+500 || m.Interruptions != 2 {
		t.Errorf("overlap %d ms, %d interruptions; want 1500 ms, 2", m.OverlapMS, m.Interruptions)
	}
	a, c := m.Roles["agent"], m.Roles["customer"]
	if a.Utterances != 2 || a.TalkMS != 5000 || a.NonTalkMS != 11000 || a.Words != 14 || a.WordsPerMinute != 168 || a.Interruptions != 0 || a.Interrupted != 2 {
		t.Errorf("agent %+v", a)
	}
	if c.Utterances != 3 || c.TalkMS != 8500 || c.NonTalkMS != 7500 || c.Words != 15 || c.WordsPerMinute != math.Round(15*60000/8500.0*10)/10 || c.Interruptions != 2 || c.Interrupted != 0 {
		t.Errorf("customer %+v", c)
	}
	// The agent's loudness combines -20 dBFS for 4 s and -10 dBFS for 1 s by power.
	want := math.Round(1000*math.Log10((4*math.Pow(10, -2)+1*math.Pow(10, -1))/5)) / 100
	if a.LoudnessDBFS == nil || *a.LoudnessDBFS != want {
		t.Errorf("agent loudness %v, want %v", a.LoudnessDBFS, want)
	}
	if c.LoudnessDBFS == nil || *c.LoudnessDBFS != -30 {
		t.Errorf("customer loudness %v, want -30 (the one utterance that has one)", c.LoudnessDBFS)
	}
	// Quarters of 4 s: a1 (mid 2 s) in Q1, a2 (9.5 s) in Q3; c1 (4.5 s) in Q2, c2 (10.75 s) in Q3;
	// c3 has no label.
	if len(a.Trend) != 4 || a.Trend[0].Utterances != 1 || a.Trend[0].Counts[wire.LabelNeutral] != 1 || a.Trend[1].Utterances != 0 ||
		a.Trend[2].Utterances != 1 || a.Trend[2].MeanScores[wire.LabelPositive] != 0.8 || a.Trend[3].Utterances != 0 || a.Trend[1].MeanScores != nil {
		t.Errorf("agent trend %+v", a.Trend)
	}
	if c.Trend[1].Counts[wire.LabelNegative] != 1 || c.Trend[2].Counts[wire.LabelPositive] != 1 || c.Trend[3].Utterances != 0 ||
		c.Trend[3].StartMS != 12000 || c.Trend[3].EndMS != 16000 {
		t.Errorf("customer trend %+v", c.Trend)
	}
	// A label without probabilities (an LLM without log-probabilities) counts in its quarter but
	// does not pull the mean scores towards zero.
	mixed := trend([]wire.Result{
		{UtteranceID: "s", StartMS: 0, EndMS: 1000, Label: wire.LabelPositive, Scores: sc(0, 0.2, 0.8)},
		{UtteranceID: "n", StartMS: 1000, EndMS: 2000, Label: wire.LabelNegative},
	}, 16000)
	if mixed[0].Utterances != 2 || mixed[0].Counts[wire.LabelNegative] != 1 || mixed[0].MeanScores[wire.LabelPositive] != 0.8 {
		t.Errorf("trend with an unscored label: %+v", mixed[0])
	}
	// Mono: one role, no overlap or interruptions; touching utterances do not overlap.
	mono := conversation([]wire.Result{{UtteranceID: "x", Role: "unknown", StartMS: 0, EndMS: 1000}, {UtteranceID: "y", Role: "other", StartMS: 1000, EndMS: 2000}}, 2000)
	if mono.OverlapMS != 0 || mono.Interruptions != 0 || mono.NonTalkMS != 0 {
		t.Errorf("touching utterances: %+v", mono)
	}
	if e := conversation(nil, 0); e.TalkMS != 0 || len(e.Roles) != 0 {
		t.Errorf("no results: %+v", e)
	}
}
