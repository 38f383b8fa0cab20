//go:build whisper

package asr

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
)

// projectModel returns the project's own whisper model (models/asr), which the default
// configuration uses.
func projectModel(t testing.TB) string {
	t.Helper()
	p := filepath.Join(testenv.RepoRoot(t), config.DefaultASRModel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the project's ASR model is missing: %v (make model-asr)", err)
	}
	return p
}

// testConfig is the ASR configuration of the tests: the project model, whisper-cli's settings
// for it (greedy, no temperature fallback), two threads.
func testConfig(t testing.TB) config.ASR {
	return config.ASR{
		Model:      projectModel(t),
		Threads:    2,
		Languages:  []string{"vi", "en", "zh", "de", "fr"},
		NoFallback: true,
		// As the defaults: words with their times.
		WordTimings: true,
	}
}

// clip is a test recording: 16 kHz mono 16-bit WAV, so that whisper-cli and the Go stage read
// the same samples without resampling.
type clip struct {
	lang, text, path string
}

var clipTexts = []struct{ lang, voice, text string }{
	{"en", "en-us", "The patient says the pain in her chest is better today."},
	{"de", "de", "Der Patient hat seit drei Tagen starke Kopfschmerzen."},
	{"fr", "fr", "Le médecin a prescrit un nouveau traitement pour la toux."},
	{"vi", "vi", "Bệnh nhân cảm thấy đau đầu và mệt mỏi."},
	{"zh", "cmn", "病人说他的头很痛。"},
}

var (
	clipsOnce sync.Once
	clipsDir  string
	clipsErr  error
)

// speechClips synthesises one espeak-ng sentence per language, padded with silence, once per
// test binary.
func speechClips(t testing.TB) []clip {
	t.Helper()
	clipsOnce.Do(func() {
		clipsDir, clipsErr = os.MkdirTemp("", "sentio-asr-clips-")
		if clipsErr != nil {
			return
		}
		for _, c := range clipTexts {
			raw := filepath.Join(clipsDir, c.lang+".raw.wav")
			out := filepath.Join(clipsDir, c.lang+".wav")
			if b, err := exec.Command("espeak-ng", "-v", c.voice, "-w", raw, c.text).CombinedOutput(); err != nil {
				clipsErr = errors.New("espeak-ng: " + err.Error() + ": " + string(b))
				return
			}
			if b, err := exec.Command("sox", raw, "-r", "16000", "-c", "1", "-b", "16", out, "pad", "0.5", "1").CombinedOutput(); err != nil {
				clipsErr = errors.New("sox: " + err.Error() + ": " + string(b))
				return
			}
		}
	})
	if clipsErr != nil {
		t.Fatal(clipsErr)
	}
	var cs []clip
	for _, c := range clipTexts {
		cs = append(cs, clip{lang: c.lang, text: c.text, path: filepath.Join(clipsDir, c.lang+".wav")})
	}
	return cs
}

func open(t testing.TB, cfg config.ASR, workers int) *Engine {
	t.Helper()
	e, err := Open(cfg, workers)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// cliArgs is whisper-cli's command line for the engine's decoding settings in cfg (greedy, one
// candidate) and language lang ("auto" detects). -nt follows asr.no_timestamps; whisper.cpp forces
// it anyway for models with two decoder layers, such as the bundled one.
//
// Text context is left at whisper-cli's default, which is the engine's: whisper-cli does not
// change whisper_full_default_params' no_context (true), so each whisper_full call (each file)
// starts without earlier text, and -mc (n_max_text_ctx) stays -1, so within one call the text of
// a window is the decoder's context for the next, as in the engine (no_context clears it only at
// the start of a call). "-mc 0" would also drop it between the windows of one file: on audio
// longer than 30 s the texts would then differ (TestSameTextAsWhisperCLIOverWindows).
func cliArgs(cfg config.ASR, lang string) []string {
	args := []string{"-m", cfg.Model, "-l", lang, "-bs", "1", "-bo", "1", "-t", itoa(cfg.Threads)}
	if cfg.NoTimestamps {
		args = append(args, "-nt")
	}
	if cfg.NoFallback {
		args = append(args, "-nf")
	}
	if cfg.AudioCtx > 0 {
		args = append(args, "-ac", itoa(cfg.AudioCtx))
	}
	if !FlashAttention(cfg) {
		args = append(args, "-nfa")
	}
	if cfg.VADModel != "" {
		args = append(args, "--vad", "-vm", cfg.VADModel)
	}
	return args
}

// whisperCLI runs whisper-cli with the settings equivalent to cfg and returns the text of each
// file (segments trimmed and joined like Result.Text) and its stderr.
func whisperCLI(t testing.TB, cfg config.ASR, lang string, files ...string) ([]string, string) {
	t.Helper()
	args := cliArgs(cfg, lang)
	dir := t.TempDir()
	var texts []string
	var stderr strings.Builder
	for i, f := range files {
		// -otxt writes the segments one per line; stdout also carries them but mixed with
		// whisper-cli's own messages.
		of := filepath.Join(dir, itoa(i))
		cmd := exec.Command("whisper-cli", append(args, "-f", f, "-otxt", "-of", of)...)
		cmd.Stderr = &stderr
		if out, err := cmd.Output(); err != nil {
			t.Fatalf("whisper-cli %s: %v\n%s\n%s", f, err, out, stderr.String())
		}
		b, err := os.ReadFile(of + ".txt")
		if err != nil {
			t.Fatal(err)
		}
		var segs []Segment
		for _, l := range strings.Split(string(b), "\n") {
			segs = append(segs, Segment{Text: l})
		}
		texts = append(texts, joinText(segs))
	}
	return texts, stderr.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSameTextAsWhisperCLI is the parity check: on the same model, audio and settings, the Go
// stage and whisper-cli decode the same text.
func TestSameTextAsWhisperCLI(t *testing.T) {
	cfg := testConfig(t)
	e := open(t, cfg, 1)
	clips := speechClips(t)
	if e.windowSamples() >= 11*SampleRate {
		// whisper-cli skips what lies beyond the first window of a model without timestamps
		// (the bundled model's is 6 s), while the Go stage goes on: compare longer audio only
		// on models whose window holds it.
		clips = append(clips, clip{lang: "en", path: testenv.Shared(t, "data/speech/jfk.wav")})
	}
	for _, c := range clips {
		res, err := e.TranscribeLanguage(context.Background(), testenv.LoadWAV(t, c.path), c.lang)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := whisperCLI(t, cfg, c.lang, c.path)
		if res.Text != want[0] {
			t.Errorf("%s (%s):\n  go:          %q\n  whisper-cli: %q", filepath.Base(c.path), c.lang, res.Text, want[0])
		}
		if res.Language != c.lang || res.LanguageProb != 1 || res.LanguageProbs != nil {
			t.Errorf("%s: forced language came back as %q %v %v", c.path, res.Language, res.LanguageProb, res.LanguageProbs)
		}
	}
}

func TestLanguageProbabilities(t *testing.T) {
	cfg := testConfig(t)
	cfg.Languages = []string{"en", "de", "fr"}
	e := open(t, cfg, 1)
	for _, c := range speechClips(t) {
		res, err := e.Transcribe(context.Background(), testenv.LoadWAV(t, c.path))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.LanguageProbs) != 3 {
			t.Fatalf("%s: probabilities for %v, want en, de, fr", c.lang, res.LanguageProbs)
		}
		var sum float64
		best := ""
		for l, p := range res.LanguageProbs {
			if l != "en" && l != "de" && l != "fr" {
				t.Errorf("%s: probability for unconfigured language %s", c.lang, l)
			}
			if p < 0 || p > 1 || math.IsNaN(float64(p)) {
				t.Errorf("%s: probability %v for %s", c.lang, p, l)
			}
			if best == "" || p > res.LanguageProbs[best] {
				best = l
			}
			sum += float64(p)
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Errorf("%s: probabilities sum to %v", c.lang, sum)
		}
		if res.Language != best || res.LanguageProb != res.LanguageProbs[best] {
			t.Errorf("%s: language %s (%v), but the most probable is %s", c.lang, res.Language, res.LanguageProb, best)
		}
		t.Logf("%s clip: detected %s %.2f %v", c.lang, res.Language, res.LanguageProb, res.LanguageProbs)
	}
}

func TestVADSkipsSilenceAndMapsTimes(t *testing.T) {
	cfg := testConfig(t)
	cfg.VADModel = testenv.Shared(t, "data/vad/silero-v6.2.0-ggml.bin")
	e := open(t, cfg, 1)
	res, err := e.Transcribe(context.Background(), make([]float32, 4*SampleRate))
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "" || len(res.Segments) != 0 || res.SpeechMS != 0 || res.Language != "" || res.DurationMS != 4000 {
		t.Errorf("silence transcribed: %+v", res)
	}
	// Speech after 3 s of silence: the segments must lie where the speech is.
	speech := testenv.LoadWAV(t, speechClips(t)[0].path)
	pcm := append(make([]float32, 3*SampleRate), speech...)
	res, err = e.TranscribeLanguage(context.Background(), pcm, "en")
	if err != nil {
		t.Fatal(err)
	}
	if res.SpeechMS <= 0 || res.SpeechMS >= res.DurationMS-2500 {
		t.Errorf("VAD kept %d of %d ms", res.SpeechMS, res.DurationMS)
	}
	if len(res.Segments) == 0 || res.Segments[0].StartMS < 3000 {
		t.Errorf("segments %+v do not start after the 3 s of silence", res.Segments)
	}
}

func TestParallelWorkersAgree(t *testing.T) {
	cfg := testConfig(t)
	clips := speechClips(t)
	seq := open(t, cfg, 1)
	want := map[string]string{}
	for _, c := range clips {
		r, err := seq.TranscribeLanguage(context.Background(), testenv.LoadWAV(t, c.path), c.lang)
		if err != nil {
			t.Fatal(err)
		}
		want[c.lang] = r.Text
	}
	par := open(t, cfg, 2)
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(clips))
	for round := 0; round < 2; round++ {
		for _, c := range clips {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := par.TranscribeLanguage(context.Background(), testenv.LoadWAV(t, c.path), c.lang)
				if err != nil {
					errs <- err
				} else if r.Text != want[c.lang] {
					errs <- errors.New(c.lang + ": parallel " + r.Text + " != sequential " + want[c.lang])
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCancellationStopsWhisper(t *testing.T) {
	cfg := testConfig(t)
	cfg.NoFallback = false
	e := open(t, cfg, 1)
	// 60 s of speech-like noise: long enough that whisper.cpp is still working when cancelled.
	pcm := make([]float32, 60*SampleRate)
	for i := range pcm {
		pcm[i] = float32(0.3 * math.Sin(float64(i)*0.05) * math.Sin(float64(i)*0.0007))
	}
	full := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := e.TranscribeLanguage(ctx, pcm, "en")
	took := time.Since(full)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want one wrapping context.DeadlineExceeded", err)
	}
	// The worker is usable afterwards, and an uncancelled run of the same audio takes longer
	// than the cancelled one did.
	start := time.Now()
	if _, err := e.TranscribeLanguage(context.Background(), pcm, "en"); err != nil {
		t.Fatal(err)
	}
	if whole := time.Since(start); took >= whole {
		t.Errorf("cancelled run took %v, the whole run %v", took, whole)
	}
	// A cancelled context never gets a worker.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := e.Transcribe(done, pcm[:SampleRate]); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	cfg := testConfig(t)
	for _, c := range []struct {
		name string
		mod  func(*config.ASR)
		want string
	}{
		{"missing model", func(c *config.ASR) { c.Model = "/nonexistent/ggml.bin" }, "sentio models fetch"},
		{"not a model", func(c *config.ASR) { c.Model = "/etc/hostname" }, "could not load"},
		{"audio_ctx", func(c *config.ASR) { c.AudioCtx = 100000 }, "audio_ctx 100000 is outside"},
		{"language", func(c *config.ASR) { c.Languages = []string{"en", "xx"} }, `language "xx"`},
		{"vad model", func(c *config.ASR) { c.VADModel = "/nonexistent/vad.bin" }, "asr.vad_model"},
	} {
		cc := cfg
		c.mod(&cc)
		if _, err := Open(cc, 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	e := open(t, cfg, 1)
	if _, err := e.Transcribe(context.Background(), nil); !errors.Is(err, ErrEmptyAudio) {
		t.Errorf("empty audio: %v", err)
	}
	if _, err := e.TranscribeLanguage(context.Background(), make([]float32, SampleRate), "xx"); err == nil {
		t.Error("unknown language accepted")
	}
	e.Close()
	if _, err := e.Transcribe(context.Background(), make([]float32, SampleRate)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// TestLanguageMatchesWhisperCLI checks the detection against whisper-cli's own (-l auto): with
// every whisper language configured, the restriction is the identity, so the language and its
// probability must be whisper's.
func TestLanguageMatchesWhisperCLI(t *testing.T) {
	cfg := testConfig(t)
	cfg.Languages = Languages()
	if len(cfg.Languages) < 99 {
		t.Fatalf("whisper knows %d languages", len(cfg.Languages))
	}
	e := open(t, cfg, 1)
	re := regexp.MustCompile(`auto-detected language: (\w+) \(p = ([0-9.]+)\)`)
	for _, c := range append(speechClips(t), clip{lang: "en", path: testenv.Shared(t, "data/speech/jfk.wav")}) {
		res, err := e.Transcribe(context.Background(), testenv.LoadWAV(t, c.path))
		if err != nil {
			t.Fatal(err)
		}
		_, stderr := whisperCLI(t, cfg, "auto", c.path)
		m := re.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("no detected language in whisper-cli's output:\n%s", stderr)
		}
		p, _ := strconv.ParseFloat(m[2], 64)
		if res.Language != m[1] || math.Abs(float64(res.LanguageProb)-p) > 1e-3 {
			t.Errorf("%s: go %s %.4f, whisper-cli %s %.4f", filepath.Base(c.path), res.Language, res.LanguageProb, m[1], p)
		}
		if res.Detected != m[1] || math.Abs(float64(res.DetectedProb)-p) > 1e-3 {
			t.Errorf("%s: go detected %s %.4f over all languages, whisper-cli %s %.4f", filepath.Base(c.path), res.Detected, res.DetectedProb, m[1], p)
		}
	}
}

// TestLongAudioInWindows checks that audio longer than the model's window is transcribed to the
// end: without VAD in window-sized pieces, with VAD per speech stretch.
func TestLongAudioInWindows(t *testing.T) {
	cfg := testConfig(t)
	e := open(t, cfg, 1)
	win := e.windowSamples()
	clips := speechClips(t)
	var pcm []float32
	for len(pcm) < 2*win+SampleRate {
		for _, c := range clips[:2] {
			pcm = append(pcm, testenv.LoadWAV(t, c.path)...)
		}
	}
	res, err := e.TranscribeLanguage(context.Background(), pcm, "en")
	if err != nil {
		t.Fatal(err)
	}
	last := res.Segments[len(res.Segments)-1]
	if win < 30*SampleRate && last.EndMS < int64(2*win)*1000/SampleRate {
		t.Errorf("%d ms of audio, but the last segment ends at %d ms: %+v", len(pcm)*1000/SampleRate, last.EndMS, res.Segments)
	}
	for i, s := range res.Segments {
		if s.StartMS > s.EndMS || s.EndMS > res.DurationMS || (i > 0 && s.StartMS < res.Segments[i-1].StartMS) {
			t.Errorf("segment %d out of order or range: %+v", i, s)
		}
	}
	// With VAD, jfk.wav's four speech stretches each get transcribed where they are.
	cfg.VADModel = testenv.Shared(t, "data/vad/silero-v6.2.0-ggml.bin")
	ev := open(t, cfg, 1)
	res, err = ev.TranscribeLanguage(context.Background(), testenv.LoadWAV(t, testenv.Shared(t, "data/speech/jfk.wav")), "en")
	if err != nil {
		t.Fatal(err)
	}
	if win < 30*SampleRate {
		if len(res.Segments) != 4 {
			t.Fatalf("%d segments for jfk.wav's 4 speech stretches: %+v", len(res.Segments), res.Segments)
		}
		for i, want := range []int64{320, 3270, 5380, 8160} {
			if d := res.Segments[i].StartMS - want; d < -100 || d > 100 {
				t.Errorf("segment %d starts at %d ms, the speech at %d ms", i, res.Segments[i].StartMS, want)
			}
		}
	}
}
