package wire

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

func sampleResult() *Result {
	return &Result{
		CallID: "call-1", UtteranceID: UtteranceID("call-1", 0, 16000), Mode: ModeStream,
		Channel: 0, Role: "agent", StartMS: 1000, EndMS: 2500, Transcript: "I feel much better today",
		Language: "en", LanguageConfidence: 0.97, LanguageSupported: true, LanguageSource: SourceFused,
		Label: "positive", Scores: map[string]float64{"negative": 0.05, "neutral": 0.15, "positive": 0.8},
		Rationale: "The speaker reports feeling better.",
		Evidence:  []Evidence{{Text: "much better", Start: 7, End: 18, Weight: 1.2}},
		Words: []Word{{Text: "I", StartMS: 1000, EndMS: 1100, Probability: 0.9}, {Text: "feel", StartMS: 1150, EndMS: 1400, Probability: 0.8},
			{Text: "much", StartMS: 1450, EndMS: 1700, Probability: 0.95}, {Text: "better", StartMS: 1750, EndMS: 2100, Probability: 0.9},
			{Text: "today", StartMS: 2150, EndMS: 2500, Probability: 0.7}},
		LoudnessDBFS: ptr(-23.5),
		Models:       map[string]string{"asr": "tiny", "reasoning": "ngram-v1"},
		TimingsMS:    map[string]float64{"asr": 30, "total": 45},
	}
}

func TestResultMatchesSchema(t *testing.T) {
	b, err := MarshalResult(sampleResult())
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(b); err != nil {
		t.Fatalf("a complete result fails its own schema: %v\n%s", err, b)
	}
	un := sampleResult()
	un.LanguageSupported, un.Language, un.Label, un.Scores, un.Rationale, un.Evidence = false, "es", "", nil, "", nil
	if b, err = MarshalResult(un); err != nil {
		t.Fatal(err)
	}
	if err := Validate(b); err != nil {
		t.Fatalf("an unsupported-language result fails the schema: %v", err)
	}
	// Version 1 grows additively: a result without the later optional fields is still valid.
	old := sampleResult()
	old.Words, old.LoudnessDBFS = nil, nil
	if b, err = MarshalResult(old); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "words") || strings.Contains(string(b), "loudness") {
		t.Errorf("empty optional fields are encoded: %s", b)
	}
	if err := Validate(b); err != nil {
		t.Fatalf("a result without words and loudness fails the schema: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestSchemaRejectsBrokenResults(t *testing.T) {
	cases := map[string]func(m map[string]any){
		"missing call_id":      func(m map[string]any) { delete(m, "call_id") },
		"bad label":            func(m map[string]any) { m["label"] = "happy" },
		"confidence above one": func(m map[string]any) { m["language_confidence"] = 1.5 },
		"supported no label":   func(m map[string]any) { delete(m, "label") },
		"unknown field":        func(m map[string]any) { m["extra"] = 1 },
		"wrong version":        func(m map[string]any) { m["schema_version"] = "2" },
		"missing total":        func(m map[string]any) { m["timings_ms"] = map[string]any{"asr": 1} },
		"loudness above 0":     func(m map[string]any) { m["loudness_dbfs"] = 3.0 },
		"word without times":   func(m map[string]any) { m["words"] = []any{map[string]any{"text": "I", "probability": 0.5}} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := MarshalResult(sampleResult())
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			mutate(m)
			if b, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
			if err := Validate(b); err == nil {
				t.Fatalf("schema accepted a broken result: %s", b)
			}
		})
	}
}

func TestSummaryMatchesSchema(t *testing.T) {
	s := Summary{SchemaVersion: SchemaVersion, Kind: "summary", CallID: "c", Utterances: 1, DurationMS: 2000,
		Timeline:   []TimelineEntry{{UtteranceID: "u-1", StartMS: 0, EndMS: 2000, Role: "agent", Label: "neutral", Language: "en"}},
		Counts:     map[string]int{"neutral": 1},
		MeanScores: map[string]map[string]float64{"agent": {"negative": 0.1, "neutral": 0.8, "positive": 0.1}},
		Languages:  map[string]int{"en": 1}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(b); err != nil {
		t.Fatalf("summary fails the schema: %v", err)
	}
	s.Timeline[0].LoudnessDBFS = ptr(-20.0)
	trend := make([]TrendEntry, 4)
	for q := range trend {
		trend[q] = TrendEntry{Quarter: q + 1, StartMS: int64(q) * 500, EndMS: int64(q+1) * 500, Counts: map[string]int{}}
	}
	trend[1].Utterances, trend[1].Counts["neutral"] = 1, 1
	trend[1].MeanScores = map[string]float64{"negative": 0.1, "neutral": 0.8, "positive": 0.1}
	s.Metrics = &ConversationMetrics{DurationMS: 2000, TalkMS: 2000, Roles: map[string]RoleMetrics{
		"agent": {Utterances: 1, TalkMS: 2000, Words: 5, WordsPerMinute: 150, LoudnessDBFS: ptr(-20.0), Trend: trend}}}
	if b, err = json.Marshal(s); err != nil {
		t.Fatal(err)
	}
	if err := Validate(b); err != nil {
		t.Fatalf("summary with metrics fails the schema: %v\n%s", err, b)
	}
	s.Metrics.Roles["agent"] = RoleMetrics{Utterances: 1, Trend: trend[:2]}
	if b, err = json.Marshal(s); err != nil {
		t.Fatal(err)
	}
	if err := Validate(b); err == nil {
		t.Fatalf("the schema accepts a trend of two quarters: %s", b)
	}
}

func TestUtteranceIDDeterministic(t *testing.T) {
	a, b := UtteranceID("c1", 0, 48000), UtteranceID("c1", 0, 48000)
	if a != b {
		t.Fatal("same utterance, different ids")
	}
	for _, other := range []string{UtteranceID("c1", 1, 48000), UtteranceID("c1", 0, 48001), UtteranceID("c2", 0, 48000)} {
		if other == a {
			t.Fatalf("different utterances share id %s", a)
		}
	}
	// Golden ids: results are de-duplicated across restarts and upgrades by these values, so a
	// change of the hash layout must fail here (the values were computed once, and agree with
	// sha256(call 0x00 uint64be(channel) uint64be(start))[:12] in hex).
	for _, c := range []struct{ got, want string }{
		{UtteranceID("c1", 0, 48000), "u-54890f60507592724ee0bada"},
		{UtteranceID("call-42", 1, 123456789), "u-ff6ff2256fecdb6f43472798"},
		{ClipUtteranceID("c1", 7, 0, 48000), "u-e3fb29085c11ecac4d5eec16"},
		{SummaryID("c1", 0), "s-43c687260a98845bdeabd2a8"},
		{SummaryID("c1", 7), "s-2973e2be4f3cc44bd4853449"},
	} {
		if c.got != c.want {
			t.Errorf("id %s, want %s (the id layout changed: replayed results would no longer be de-duplicated)", c.got, c.want)
		}
	}
}

func TestParseChunk(t *testing.T) {
	good := Chunk{CallID: "c1", Seq: 3, Codec: CodecS16LE, Rate: 8000, Channels: 2, Roles: []string{"agent", "customer"}, End: true, Offset: -1}.Header()
	c, err := ParseChunk(good, "sentio.audio.c1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Seq != 3 || c.Rate != 8000 || c.Channels != 2 || !c.End || c.Roles[1] != "customer" || c.Offset != -1 {
		t.Fatalf("parsed %+v", c)
	}
	bad := map[string]struct {
		mutate func(h nats.Header)
		code   string
	}{
		"no seq":        {func(h nats.Header) { h.Del(HeaderSeq) }, ReasonMissingHeader},
		"bad seq":       {func(h nats.Header) { h.Set(HeaderSeq, "-1") }, ReasonBadHeader},
		"no codec":      {func(h nats.Header) { h.Del(HeaderCodec) }, ReasonMissingHeader},
		"opus":          {func(h nats.Header) { h.Set(HeaderCodec, "opus") }, ReasonBadHeader},
		"no rate":       {func(h nats.Header) { h.Del(HeaderRate) }, ReasonMissingHeader},
		"absurd rate":   {func(h nats.Header) { h.Set(HeaderRate, "12") }, ReasonBadRate},
		"zero channels": {func(h nats.Header) { h.Set(HeaderChannels, "0") }, ReasonBadHeader},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			h := Chunk{CallID: "c1", Seq: 3, Codec: CodecS16LE, Rate: 8000, Channels: 1, Offset: -1}.Header()
			tc.mutate(h)
			_, err := ParseChunk(h, "sentio.audio.c1")
			he, ok := err.(*HeaderError)
			if !ok || he.Code != tc.code {
				t.Fatalf("got %v, want a HeaderError with code %s", err, tc.code)
			}
			if !strings.Contains(err.Error(), "Sentio-") {
				t.Fatalf("error does not name the header: %v", err)
			}
		})
	}
}

func TestValidCallIDRefusesUnsafeCharacters(t *testing.T) {
	for _, id := range []string{"", "a.b", "a b", "a*", "a>", "a/b", "a\x00b", "a\x7fb", "caf\xc3\xa9", "\xff", strings.Repeat("x", 129)} {
		if ValidCallID(id) == nil {
			t.Errorf("ValidCallID(%q) = nil; want an error", id)
		}
	}
	for _, id := range []string{"call-1", "A_b:c=d@e+f", strings.Repeat("x", 128)} {
		if err := ValidCallID(id); err != nil {
			t.Errorf("ValidCallID(%q) = %v", id, err)
		}
	}
}

func TestCallIDComesFromTheSubject(t *testing.T) {
	h := nats.Header{}
	h.Set(HeaderCallID, "victim")
	if id, err := CheckCallID(h, "sentio.audio.3.attacker"); err == nil || id != "attacker" {
		t.Fatalf("a disagreeing header gave %q, %v; want attacker and an error", id, err)
	}
	h.Set(HeaderCallID, "same")
	if id, err := CheckCallID(h, "sentio.audio.same"); err != nil || id != "same" {
		t.Fatalf("an agreeing header gave %q, %v", id, err)
	}
}

func TestChunkPositionsCannotOverflow(t *testing.T) {
	h := Chunk{CallID: "c", Seq: 0, Codec: CodecS16LE, Rate: 8000, Channels: 1, Offset: -1}.Header()
	h.Set(HeaderSeq, "18446744073709551615")
	if _, err := ParseChunk(h, "sentio.audio.c"); err == nil {
		t.Fatal("seq 2^64-1 accepted")
	}
	h.Set(HeaderSeq, "1")
	h.Set(HeaderOffset, "9223372036854775807")
	if _, err := ParseChunk(h, "sentio.audio.c"); err == nil {
		t.Fatal("offset 2^63-1 accepted")
	}
}
