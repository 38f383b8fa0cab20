package langid

import (
	"testing"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/wire"
)

var five = config.LangID{Languages: []string{"vi", "en", "zh", "de", "fr"}, MinChars: 20, WhisperWeight: 0.5}

func newID(t testing.TB) *Identifier {
	t.Helper()
	id, err := New(five)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestFiveLanguagesFromText(t *testing.T) {
	id := newID(t)
	cases := map[string]string{
		"en": "The doctor said my blood pressure is much better this week.",
		"fr": "Le médecin m'a dit que ma tension artérielle allait beaucoup mieux.",
		"de": "Der Arzt hat gesagt, dass mein Blutdruck diese Woche viel besser ist.",
		"vi": "Bác sĩ nói huyết áp của tôi tuần này đã tốt hơn nhiều rồi.",
		"zh": "医生说我这周的血压好多了，我很高兴。",
	}
	for want, text := range cases {
		// whisper wrongly leans to English: the text wins when lingua is clear.
		d := id.Identify(text, "en", 0.6, map[string]float32{"en": 0.6, want: 0.4})
		if d.Language != want || !d.Supported || d.Source != wire.SourceFused {
			t.Errorf("%s: got %+v", want, d)
		}
		d = id.Identify(text, "", 0, nil)
		if d.Language != want || d.Source != wire.SourceLingua {
			t.Errorf("%s without whisper: got %+v", want, d)
		}
	}
}

func TestShortTextDefersToWhisper(t *testing.T) {
	id := newID(t)
	d := id.Identify("Merci.", "fr", 0.8, map[string]float32{"fr": 0.8, "en": 0.2})
	if d.Language != "fr" || d.Source != wire.SourceWhisper || d.Confidence < 0.79 || d.Confidence > 0.81 {
		t.Fatalf("got %+v", d)
	}
	d = id.Identify("", "", 0, nil)
	if d.Source != wire.SourceNone || d.Supported || d.Language != "" {
		t.Fatalf("no text, no whisper: got %+v", d)
	}
}

func TestLanguageOutsideTheSetIsUnsupported(t *testing.T) {
	id := newID(t)
	// Spanish: lingua, restricted to the five, spreads its vote; whisper is sure.
	d := id.Identify("El médico me dijo que mi presión arterial está mucho mejor esta semana.", "es", 0.95,
		map[string]float32{"es": 0.95, "fr": 0.03, "en": 0.02})
	if d.Supported || d.Language != "es" {
		t.Fatalf("Spanish reported as %+v", d)
	}
}

func TestBadConfig(t *testing.T) {
	if _, err := New(config.LangID{Languages: []string{"xx"}}); err == nil {
		t.Fatal("accepted language xx")
	}
	if _, err := New(config.LangID{}); err == nil {
		t.Fatal("accepted no languages")
	}
}

func BenchmarkIdentify(b *testing.B) {
	id := newID(b)
	for b.Loop() {
		id.Identify("The doctor said my blood pressure is much better this week.", "en", 0.9, map[string]float32{"en": 0.9, "de": 0.1})
	}
}

func TestOutsideTheConfiguredLanguages(t *testing.T) {
	id := newID(t)
	if d, ok := id.Outside("es", 0.9); !ok || d.Supported || d.Language != "es" || d.Source != wire.SourceWhisper {
		t.Errorf("Spanish at 0.9: got %+v, %v; want unsupported, decided by whisper", d, ok)
	}
	for _, c := range []struct {
		lang string
		p    float64
	}{{"en", 0.99}, {"es", OutsideThreshold - 0.01}, {"", 1}} {
		if d, ok := id.Outside(c.lang, c.p); ok {
			t.Errorf("Outside(%q, %v) = %+v; want Identify to decide", c.lang, c.p, d)
		}
	}
}
