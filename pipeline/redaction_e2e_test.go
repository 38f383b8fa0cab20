//go:build whisper

package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// The real daemon (`sentio run` on its default redact.mode, redact) with real espeak-ng speech
// of the ASR corpus sentences that hold a weekday and a clock time, in English, German and
// Chinese: each published transcript has them as [DATE] and [TIME], listed in redaction.entities,
// and neither the transcript, the evidence nor the words hold the weekday any more.
func TestDaemonRedactsRealSpeech(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end with the real models")
	}
	r := daemonRig(t)
	// Sentence 10 of each training corpus: "The appointment is on Monday at nine o'clock." and
	// its translations, which the bundled ASR model transcribes well.
	weekday := map[string]string{"en": "Monday", "de": "Montag", "zh": "星期一"}
	var pcm [][]float32
	for _, l := range []string{"en", "de", "zh"} {
		s := testenv.CorpusSentence(t, l+".txt", 10)
		if !strings.Contains(s, weekday[l]) {
			t.Fatalf("corpus sentence %s 10 is %q: it no longer holds %s", l, s, weekday[l])
		}
		pcm = append(pcm, speak(t, l, s))
	}
	r.clip("redact-real", wav(concat(pcm...), 16000), map[string]string{wire.HeaderRole: "patient", wire.HeaderEnd: "true"})
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.redact-real", 3, 10*time.Minute))
	if len(res) != 3 {
		t.Fatalf("%d results; want one per utterance (3)", len(res))
	}
	for _, x := range res {
		t.Logf("%s %q %s, evidence %+v, entities %+v", x.Language, x.Transcript, x.Label, x.Evidence, x.Redaction)
		if x.Redaction == nil || x.Redaction.Mode != wire.RedactionRedact {
			t.Errorf("%s: no redaction info: %+v", x.Language, x.Redaction)
			continue
		}
		for _, ph := range []string{"[DATE]", "[TIME]"} {
			if !strings.Contains(x.Transcript, ph) {
				t.Errorf("%s: transcript %q has no %s", x.Language, x.Transcript, ph)
			}
		}
		found := map[string]bool{}
		tr := []rune(x.Transcript)
		for _, e := range x.Redaction.Entities {
			if e.Field == "transcript" {
				found[e.Type] = true
				if got := string(tr[e.Start:e.End]); got != "["+e.Type+"]" {
					t.Errorf("%s: entity %+v spans %q, not its placeholder", x.Language, e, got)
				}
			}
		}
		if !found["DATE"] || !found["TIME"] {
			t.Errorf("%s: entities %+v; want DATE and TIME in the transcript", x.Language, x.Redaction.Entities)
		}
		prevEnd := -1
		for _, e := range x.Evidence {
			if string(tr[e.Start:e.End]) != e.Text {
				t.Errorf("%s: evidence %+v is not its span of the transcript", x.Language, e)
			}
			if e.Start <= prevEnd {
				t.Errorf("%s: evidence %+v overlaps or meets the span before it", x.Language, e)
			}
			prevEnd = e.End
		}
		for _, w := range weekday {
			if strings.Contains(x.Transcript, w) {
				t.Errorf("%s: the transcript still holds %s: %q", x.Language, w, x.Transcript)
			}
			for _, ww := range x.Words {
				if strings.Contains(ww.Text, w) {
					t.Errorf("%s: a word still holds %s: %+v", x.Language, w, ww)
				}
			}
		}
		if x.Label == "" || x.Rationale == "" {
			t.Errorf("%s: redaction lost the reasoning: %+v", x.Language, x)
		}
	}
	r.settled(time.Minute)
}
