package pipeline

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sentio-health/sentio/langid"
	"github.com/sentio-health/sentio/reasoning"
	"github.com/sentio-health/sentio/wire"
)

// A result whose model gave no probabilities says scores_available: false without scores, names
// the model that answered, passes the schema, and stays out of its role's mean scores.
func TestResultWithoutScores(t *testing.T) {
	models := map[string]string{"asr": "a", "vad": "v", "langid": "l", "reasoning": "llm 1"}
	mk := func(start int64, r reasoning.Result) wire.Result {
		w := &Work{CallID: "c1", Mode: "clip", Channel: 0, Role: "patient", Start: start, pcmLen: 16000,
			Lang: langid.Decision{Language: "en", Confidence: 0.9, Supported: true, Source: wire.SourceFused}, Reason: &r}
		w.ASR.Text = "it hurts"
		w.timed(StageReason, time.Now())
		w.timed("total", time.Now())
		res := w.result(models)
		res.SchemaVersion = wire.SchemaVersion
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		if err := wire.Validate(b); err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		return *res
	}
	none := mk(0, reasoning.Result{Label: "negative", Rationale: "pain", NoScores: true, Model: "llm tiny"})
	if none.Scores != nil || none.ScoresAvailable == nil || *none.ScoresAvailable || none.Models["reasoning"] != "llm tiny" {
		t.Errorf("without scores: scores %v, scores_available %v, models %v", none.Scores, none.ScoresAvailable, none.Models)
	}
	// The schema holds the two together: no scores only with scores_available false.
	marshal := func(v any) []byte {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var m map[string]any
	if err := json.Unmarshal(marshal(none), &m); err != nil {
		t.Fatal(err)
	}
	m["scores"] = map[string]float64{"negative": 1, "neutral": 0, "positive": 0}
	if wire.Validate(marshal(m)) == nil {
		t.Error("scores with scores_available false pass the schema")
	}
	delete(m, "scores")
	delete(m, "scores_available")
	if wire.Validate(marshal(m)) == nil {
		t.Error("a labelled result without scores or scores_available false passes the schema")
	}
	if models["reasoning"] != "llm 1" {
		t.Errorf("the shared models map was changed: %v", models)
	}
	some := mk(32000, reasoning.Result{Label: "positive", Rationale: "relief", Scores: reasoning.Scores{Positive: 0.8, Neutral: 0.2}})
	if some.ScoresAvailable != nil || some.Scores["positive"] != 0.8 || some.Models["reasoning"] != "llm 1" {
		t.Errorf("with scores: %+v", some)
	}
	sum := Summarize("c1", []wire.Result{none, some})
	if got := sum.MeanScores["patient"]["positive"]; got != 0.8 {
		t.Errorf("mean positive score %v, want 0.8 (the result without scores left out)", got)
	}
	if sum.Counts["negative"] != 1 || sum.Counts["positive"] != 1 {
		t.Errorf("counts %v", sum.Counts)
	}
}
