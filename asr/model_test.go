//go:build whisper

package asr

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/sentio-health/sentio/internal/editdist"
	"github.com/sentio-health/sentio/internal/testenv"
)

// testVoices are espeak-ng voices with a variant (+f2) and a speed (175 wpm) that the bundled
// model never heard in training (models/asr/synth.py keeps them for its test split).
var testVoices = map[string]string{"en": "en-us+f2", "vi": "vi+f2", "zh": "cmn+f2", "de": "de+f2", "fr": "fr-fr+f2"}

// maxBundledCER bounds the bundled model's character error rate on corpus sentences in unseen
// voices. The model card reports the full evaluation; this guards the whole path (export, ggml
// loading, mel, decoding through the Go stage) against regressions.
const maxBundledCER = 0.05

// TestBundledModelTranscribesItsCorpus speaks corpus sentences (models/asr/corpus) in voices and
// at a speed the bundled model was not trained on, and checks through the Go stage that the text
// and the language are right.
func TestBundledModelTranscribesItsCorpus(t *testing.T) {
	e := open(t, testConfig(t), 1)
	dir := t.TempDir()
	var errs, total, langOK, clips int
	for _, lang := range []string{"vi", "en", "zh", "de", "fr"} {
		for _, n := range []int{4, 37} {
			ref := testenv.CorpusSentence(t, lang+".txt", n)
			raw, wav := filepath.Join(dir, "raw.wav"), filepath.Join(dir, fmt.Sprintf("%s-%d.wav", lang, n))
			testenv.Espeak(t, raw, ref, "-v", testVoices[lang], "-s", "175")
			if b, err := exec.Command("sox", raw, "-r", "16000", "-c", "1", "-b", "16", wav, "pad", "0.3", "0.5").CombinedOutput(); err != nil {
				t.Fatalf("sox: %v\n%s", err, b)
			}
			res, err := e.Transcribe(context.Background(), testenv.LoadWAV(t, wav))
			if err != nil {
				t.Fatal(err)
			}
			r, h := cerChars(ref), cerChars(res.Text)
			d := editdist.Distance(r, h)
			errs, total, clips = errs+d, total+len(r), clips+1
			if res.Language == lang {
				langOK++
			}
			t.Logf("%s %.0f%% CER, language %s (%.2f): %q → %q", lang, 100*float64(d)/float64(len(r)), res.Language, res.LanguageProb, ref, res.Text)
		}
	}
	if cer := float64(errs) / float64(total); cer > maxBundledCER {
		t.Errorf("character error rate %.1f%% over %d clips; want at most %.0f%%", 100*cer, clips, 100*maxBundledCER)
	}
	if langOK < clips-1 {
		t.Errorf("language right on %d of %d clips", langOK, clips)
	}
}

// cerChars is the text as the model card's CER counts it: NFC, lower case, letters and digits only.
func cerChars(s string) []rune {
	var out []rune
	for _, r := range norm.NFC.String(s) {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			out = append(out, unicode.ToLower(r))
		}
	}
	return out
}
