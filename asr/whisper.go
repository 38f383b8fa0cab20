//go:build whisper

package asr

// The engine calls whisper.cpp's C API (Debian's libwhisper 1.9.5 headers) through its own small
// cgo layer rather than github.com/ggerganov/whisper.cpp/bindings/go (not a dependency). Those
// bindings fit neither level: the high-level pkg/whisper creates a context per model load and
// no per-worker whisper_state, and the low-level package exposes no whisper_init_state /
// *_with_state functions, no abort callback, no no-speech probability, no use_gpu context
// parameter, and keeps its callbacks in package-level maps that are read and written without a
// lock, which races as soon as two workers run whisper_full at once. The C API itself is small
// and stable; the calls below are the ones the engine needs.

/*
#cgo LDFLAGS: -lwhisper -lggml -lggml-base -lm -lstdc++
#include <whisper.h>
#include <ggml-backend.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

// sentio_muted silences the log on this thread (sentio_set_audio_ctx's expected error line).
static __thread int sentio_muted;

// sentio_gpu is where sentio_init_state, on its thread, keeps the GPU device whisper.cpp says it
// chose ("whisper_backend_init_gpu: using Vulkan0 backend"), or NULL when it is not listening.
static __thread char *sentio_gpu;
#define SENTIO_GPU_LEN 128

static void sentio_log(enum ggml_log_level level, const char *text, void *ud) {
	(void)ud;
	static const char using[] = "whisper_backend_init_gpu: using ";
	if (sentio_gpu != NULL && strncmp(text, using, sizeof using - 1) == 0) {
		const char *name = text + sizeof using - 1;
		const char *end = strstr(name, " backend");
		size_t n = end != NULL ? (size_t)(end - name) : strlen(name);
		if (n >= SENTIO_GPU_LEN) {
			n = SENTIO_GPU_LEN - 1;
		}
		memcpy(sentio_gpu, name, n);
		sentio_gpu[n] = 0;
	}
	if (level == GGML_LOG_LEVEL_ERROR && !sentio_muted) {
		fputs(text, stderr);
	}
}

// sentio_device_description writes the description of ggml's device named name ("llvmpipe (LLVM
// ...)" for Vulkan0 on Mesa's software device) into out, or an empty string.
static void sentio_device_description(const char *name, char *out, size_t len) {
	out[0] = 0;
	for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
		ggml_backend_dev_t d = ggml_backend_dev_get(i);
		if (strcmp(ggml_backend_dev_name(d), name) == 0) {
			snprintf(out, len, "%s", ggml_backend_dev_description(d));
			return;
		}
	}
}

// sentio_init quiets the log and loads ggml's backends: Debian's ggml loads even the CPU backend
// at run time, and whisper.cpp's VAD (unlike its context init) does not load them itself.
static void sentio_init(void) {
	whisper_log_set(sentio_log, NULL);
	ggml_backend_load_all();
}

// The abort flag is C memory written by Go (sentio_set_flag) when the request's context is
// cancelled and read by whisper.cpp's callbacks: no Go pointer crosses into C.
static bool sentio_abort_cb(void *data) { return __atomic_load_n((int *)data, __ATOMIC_RELAXED) != 0; }

static bool sentio_encoder_begin_cb(struct whisper_context *ctx, struct whisper_state *st, void *data) {
	(void)ctx; (void)st;
	return __atomic_load_n((int *)data, __ATOMIC_RELAXED) == 0;
}

static void sentio_set_flag(int *f, int v) { __atomic_store_n(f, v, __ATOMIC_RELAXED); }

// sentio_load loads a model. dtw_top > 0 turns on whisper.cpp's DTW token timestamps over the
// attention heads of the top dtw_top text layers.
static struct whisper_context *sentio_load(const char *path, bool use_gpu, bool flash_attn, int dtw_top) {
	struct whisper_context_params p = whisper_context_default_params();
	p.use_gpu = use_gpu;
	p.flash_attn = flash_attn;
	if (dtw_top > 0) {
		p.dtw_token_timestamps = true;
		p.dtw_aheads_preset = WHISPER_AHEADS_N_TOP_MOST;
		p.dtw_n_top = dtw_top;
	}
	return whisper_init_from_file_with_params_no_state(path, p);
}

// sentio_init_state makes a whisper state of ctx. gpu (SENTIO_GPU_LEN bytes, or NULL) receives the
// name of the GPU device whisper.cpp runs the state on, empty when it runs on the CPU: whisper.cpp
// chooses it here, in whisper_backend_init_gpu, and says so only in its log.
static struct whisper_state *sentio_init_state(struct whisper_context *ctx, char *gpu) {
	if (gpu != NULL) {
		gpu[0] = 0;
	}
	sentio_gpu = gpu;
	struct whisper_state *st = whisper_init_state(ctx);
	sentio_gpu = NULL;
	return st;
}

static int sentio_full(struct whisper_context *ctx, struct whisper_state *st, const float *pcm, int n,
		int threads, int audio_ctx, const char *lang, bool no_timestamps, bool no_fallback, int max_tokens,
		const char *prompt, bool token_timestamps, int *abort_flag) {
	struct whisper_full_params p = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
	p.n_threads = threads;
	p.audio_ctx = audio_ctx;
	p.language = lang;
	p.detect_language = false;
	p.no_context = true; // each call is its own utterance: no text carried over from the last
	p.no_timestamps = no_timestamps;
	p.max_tokens = max_tokens;
	p.initial_prompt = prompt;
	p.token_timestamps = token_timestamps;
	if (no_fallback) {
		p.temperature_inc = 0.0f;
		p.greedy.best_of = 1; // only sampling at temperature > 0 uses more candidates
	}
	p.print_progress = false;
	p.print_realtime = false;
	p.print_timestamps = false;
	p.print_special = false;
	p.abort_callback = sentio_abort_cb;
	p.abort_callback_user_data = abort_flag;
	p.encoder_begin_callback = sentio_encoder_begin_cb;
	p.encoder_begin_callback_user_data = abort_flag;
	return whisper_full_with_state(ctx, st, p, pcm, n);
}

static bool sentio_refuse_cb(struct whisper_context *ctx, struct whisper_state *st, void *data) {
	(void)ctx; (void)st; (void)data;
	return false;
}

// sentio_set_audio_ctx makes audio_ctx (0: the model's) the encoder context of the state, which
// must hold a spectrogram. whisper.cpp has no setter: whisper_full stores params.audio_ctx in the
// state just before its first encoder run, which an encoder_begin_callback refusing to start
// skips (whisper_full then returns 0 and logs one error line, silenced here).
static int sentio_set_audio_ctx(struct whisper_context *ctx, struct whisper_state *st, int audio_ctx) {
	struct whisper_full_params p = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
	p.n_threads = 1;
	p.audio_ctx = audio_ctx;
	p.language = "en";
	p.detect_language = false;
	p.print_progress = false;
	p.print_realtime = false;
	p.print_timestamps = false;
	p.encoder_begin_callback = sentio_refuse_cb;
	sentio_muted = 1;
	int rc = whisper_full_with_state(ctx, st, p, NULL, 0);
	sentio_muted = 0;
	return rc;
}

// sentio_detect computes the state's mel spectrogram of the whole audio and whisper's language
// probabilities from its first window, encoded with audio_ctx (whisper_lang_auto_detect encodes
// with the state's context, which whisper_full sets only after its own detection: set it here
// first, or detection would use the previous call's). whisper_full then runs with no samples,
// which makes it reuse that spectrogram instead of computing it again.
static int sentio_detect(struct whisper_context *ctx, struct whisper_state *st, const float *pcm, int n,
		int threads, int audio_ctx, float *probs) {
	if (whisper_pcm_to_mel_with_state(ctx, st, pcm, n, threads) != 0) {
		return -100;
	}
	if (sentio_set_audio_ctx(ctx, st, audio_ctx) != 0) {
		return -101;
	}
	return whisper_lang_auto_detect_with_state(ctx, st, 0, threads, probs);
}

struct sentio_logit {
	double v;
	int id;
};

static int sentio_logit_desc(const void *a, const void *b) {
	double x = ((const struct sentio_logit *)a)->v, y = ((const struct sentio_logit *)b)->v;
	return x < y ? 1 : x > y ? -1 : 0;
}

// sentio_detect_encoded computes whisper's language probabilities from the encoder output the
// state holds (whisper_full's, for audio of one window), as whisper_lang_auto_detect_with_state
// does after running the encoder itself: one decoder step on the start-of-transcript token, then
// a softmax over the language tokens' logits, in double precision and in descending order as
// whisper.cpp sums them.
static int sentio_detect_encoded(struct whisper_context *ctx, struct whisper_state *st, int threads, float *probs) {
	whisper_token sot = whisper_token_sot(ctx);
	if (whisper_decode_with_state(ctx, st, &sot, 1, 0, threads) != 0) {
		return -102;
	}
	const float *logits = whisper_get_logits_from_state(st);
	int n = whisper_lang_max_id() + 1;
	struct sentio_logit *l = malloc(sizeof(struct sentio_logit) * n);
	if (l == NULL) {
		return -103;
	}
	for (int i = 0; i < n; i++) {
		l[i].v = logits[whisper_token_lang(ctx, i)];
		l[i].id = i;
	}
	qsort(l, n, sizeof(struct sentio_logit), sentio_logit_desc);
	double max = l[0].v, sum = 0;
	for (int i = 0; i < n; i++) {
		l[i].v = exp(l[i].v - max);
		sum += l[i].v;
	}
	for (int i = 0; i < n; i++) {
		probs[l[i].id] = (float)(l[i].v / sum);
	}
	int best = l[0].id;
	free(l);
	return best;
}

// sentio_no_speech computes whisper.cpp's no-speech probability from the first row of the
// state's logits, as whisper_full does (log-softmax over the vocabulary in single precision):
// whisper_full reads that row before its own decoder has written it, so it holds the logits
// of the start-of-transcript step that language detection decoded.
static float sentio_no_speech(struct whisper_context *ctx, struct whisper_state *st) {
	const float *logits = whisper_get_logits_from_state(st);
	int n = whisper_n_vocab(ctx);
	float max = -INFINITY;
	for (int i = 0; i < n; i++) {
		if (logits[i] > max) {
			max = logits[i];
		}
	}
	float sum = 0.0f;
	for (int i = 0; i < n; i++) {
		if (logits[i] > -INFINITY) {
			sum += expf(logits[i] - max);
		}
	}
	float lse = logf(sum) + max;
	float l = logits[whisper_token_nosp(ctx)];
	return l == -INFINITY ? 0.0f : expf(l - lse);
}

// sentio_force_no_speech sets the no-speech logit of the first row of the state's logits (tests:
// a stale row on the other side of the threshold).
static void sentio_force_no_speech(struct whisper_context *ctx, struct whisper_state *st, float v) {
	whisper_get_logits_from_state(st)[whisper_token_nosp(ctx)] = v;
}

static float sentio_no_speech_thold(void) {
	return whisper_full_default_params(WHISPER_SAMPLING_GREEDY).no_speech_thold;
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/sentio-health/sentio/config"
)

var quietOnce sync.Once

// quiet routes whisper.cpp's and ggml's log to stderr for errors only (their info lines would
// flood operators' logs) and loads ggml's backends, once per process.
func quiet() { quietOnce.Do(func() { C.sentio_init() }) }

// Engine runs whisper.cpp: one model, loaded once, shared by a fixed set of workers that each
// own a whisper state, a VAD context and an abort flag. It is safe for concurrent use; at most
// `workers` transcriptions run at once and the others wait for a free worker.
type Engine struct {
	cfg          config.ASR
	ctx          *C.struct_whisper_context
	all          []*worker
	free         chan *worker
	done         chan struct{}
	closeOnce    sync.Once
	langs        []string
	langIDs      map[string]C.int
	multilingual bool
	info         ModelInfo
	// dtw says the context computes DTW token timestamps (t_dtw) rather than whisper.cpp's
	// timestamp-token heuristic (t0, t1).
	dtw bool
	// noWords turns word timings off (asr.word_timings false): no DTW, no token timestamps, no
	// Result.Words.
	noWords bool
	// lastLang is the language last detected (see guess).
	lastLang atomic.Value
	// guessStats counts what became of language guesses (see decodeGuessing).
	guessStats struct{ held, missed, redone atomic.Int64 }
}

// worker is one whisper state with what it needs to run alone.
type worker struct {
	state *C.struct_whisper_state
	// decoded says the state has run the decoder: its logits hold a row (see sentio_no_speech).
	decoded bool
	vad     *VAD
	abort   *C.int
}

// Open loads cfg.Model once and prepares workers workers (at least 1), each with its own
// whisper state and, when cfg.VADModel is set, its own Silero VAD context. cfg.Threads is the
// thread count of each worker, cfg.AudioCtx the encoder context (0 = the model's), cfg.UseGPU
// lets whisper.cpp use a ggml GPU backend when one is installed.
func Open(cfg config.ASR, workers int) (*Engine, error) {
	if workers < 1 {
		workers = 1
	}
	if cfg.Threads < 1 {
		cfg.Threads = 1
	}
	if cfg.Model == "" {
		return nil, errors.New("asr: no model configured (asr.model); fetch one with `sentio models fetch base`")
	}
	if _, err := os.Stat(cfg.Model); err != nil {
		return nil, fmt.Errorf("asr: model %s: %w (set asr.model, or fetch one with `sentio models fetch base`)", cfg.Model, err)
	}
	if cfg.VADModel != "" {
		if _, err := os.Stat(cfg.VADModel); err != nil {
			return nil, fmt.Errorf("asr: VAD model %s: %w (set asr.vad_model, empty to disable, or `sentio models fetch silero-vad`)", cfg.VADModel, err)
		}
	}
	if len(cfg.Languages) == 0 {
		cfg.Languages = config.Defaults().ASR.Languages
	}
	e := &Engine{cfg: cfg, langs: cfg.Languages, langIDs: map[string]C.int{}, done: make(chan struct{})}
	for _, l := range append(append([]string(nil), cfg.Languages...), cfg.Language) {
		if l == "" {
			continue
		}
		cs := C.CString(l)
		id := C.whisper_lang_id(cs)
		C.free(unsafe.Pointer(cs))
		if id < 0 {
			return nil, fmt.Errorf("asr: language %q is not one whisper knows", l)
		}
		e.langIDs[l] = id
	}
	quiet()
	cpath := C.CString(cfg.Model)
	defer C.free(unsafe.Pointer(cpath))
	fa := FlashAttention(cfg)
	// Word timings: DTW over the cross-attention of the top half of the text layers (all of them
	// for a model of two or fewer, like the bundled one), which needs no timestamp tokens (the
	// bundled model has none). whisper.cpp does not run DTW with flash attention: such models
	// (official ones at 1500) get its timestamp-token heuristic instead.
	dtwTop := 0
	e.noWords = !cfg.WordTimings
	if layers, err := headerTextLayers(cfg.Model); err == nil && !fa && !e.noWords {
		e.dtw = true
		dtwTop = max(min(2, layers), layers/2)
	}
	e.ctx = C.sentio_load(cpath, C.bool(cfg.UseGPU), C.bool(fa), C.int(dtwTop))
	if e.ctx == nil {
		return nil, fmt.Errorf("asr: whisper.cpp could not load %s (not a ggml whisper model, or corrupt)", cfg.Model)
	}
	e.multilingual = C.whisper_is_multilingual(e.ctx) != 0
	nctx := int(C.whisper_model_n_audio_ctx(e.ctx))
	if cfg.AudioCtx < 0 || cfg.AudioCtx > nctx {
		C.whisper_free(e.ctx)
		return nil, fmt.Errorf("asr: audio_ctx %d is outside 0..%d (the model's audio context)", cfg.AudioCtx, nctx)
	}
	if !e.multilingual && cfg.Language != "" && cfg.Language != "en" {
		C.whisper_free(e.ctx)
		return nil, fmt.Errorf("asr: %s is an English-only model, but language %q is forced", cfg.Model, cfg.Language)
	}
	used := cfg.AudioCtx
	if used == 0 {
		used = nctx
	}
	e.info = ModelInfo{
		Path: cfg.Model, Type: C.GoString(C.whisper_model_type_readable(e.ctx)), Multilingual: e.multilingual,
		AudioCtx: nctx, UsedAudioCtx: used,
		AudioState: int(C.whisper_model_n_audio_state(e.ctx)), AudioLayers: int(C.whisper_model_n_audio_layer(e.ctx)),
		TextState: int(C.whisper_model_n_text_state(e.ctx)), TextLayers: int(C.whisper_model_n_text_layer(e.ctx)),
		Vocab: int(C.whisper_model_n_vocab(e.ctx)), Workers: workers, Threads: cfg.Threads, VAD: cfg.VADModel != "", FlashAttention: fa,
		UseGPU: cfg.UseGPU, Device: "CPU", System: C.GoString(C.whisper_print_system_info()),
	}
	e.free = make(chan *worker, workers)
	for i := 0; i < workers; i++ {
		w, err := e.newWorker()
		if err != nil {
			e.freeAll()
			return nil, err
		}
		e.all = append(e.all, w)
		e.free <- w
	}
	return e, nil
}

func (e *Engine) newWorker() (*worker, error) {
	w := &worker{abort: (*C.int)(C.calloc(1, C.size_t(unsafe.Sizeof(C.int(0)))))}
	// The first state tells where whisper.cpp runs the model; sentio_init_state listens to its log
	// on its thread (one C call: one OS thread).
	var gpu *C.char
	if len(e.all) == 0 {
		gpu = (*C.char)(C.calloc(C.SENTIO_GPU_LEN, 1))
		defer C.free(unsafe.Pointer(gpu))
	}
	w.state = C.sentio_init_state(e.ctx, gpu)
	if gpu != nil && *gpu != 0 {
		var d [256]C.char
		C.sentio_device_description(gpu, &d[0], C.size_t(len(d)))
		e.info.Device, e.info.DeviceDescription = C.GoString(gpu), C.GoString(&d[0])
	}
	if w.state == nil {
		w.release()
		return nil, errors.New("asr: whisper_init_state failed (out of memory?)")
	}
	if e.cfg.VADModel != "" {
		v, err := OpenVAD(e.cfg.VADModel, e.cfg.Threads)
		if err != nil {
			w.release()
			return nil, err
		}
		w.vad = v
	}
	// One short run per worker at start: it sets the state's audio_ctx (whisper.cpp applies
	// audio_ctx to a state inside whisper_full, after its language detection, so without it
	// detection would encode the full 30 s context), and it warms whisper.cpp up: measured
	// here, the first whisper_full of a process otherwise takes seconds longer (9-28 s for jfk.wav
	// on a loaded 2-core machine, against 0.5 s warm), which would hit the first utterance.
	prime := make([]float32, SampleRate*3/2)
	lang := C.CString("en")
	rc := C.sentio_full(e.ctx, w.state, (*C.float)(&prime[0]), C.int(len(prime)), C.int(e.cfg.Threads),
		C.int(e.cfg.AudioCtx), lang, C.bool(true), C.bool(true), 1, nil, C.bool(false), w.abort)
	C.free(unsafe.Pointer(lang))
	if rc != 0 {
		w.release()
		return nil, fmt.Errorf("asr: whisper.cpp failed to run %s (audio_ctx %d): whisper_full code %d", e.cfg.Model, e.cfg.AudioCtx, int(rc))
	}
	return w, nil
}

func (w *worker) release() {
	if w.vad != nil {
		w.vad.Close()
	}
	if w.state != nil {
		C.whisper_free_state(w.state)
	}
	C.free(unsafe.Pointer(w.abort))
}

func (e *Engine) freeAll() {
	for _, w := range e.all {
		w.release()
	}
	e.all = nil
	C.whisper_free(e.ctx)
	e.ctx = nil
}

// Info describes the loaded model and the engine's settings.
func (e *Engine) Info() ModelInfo { return e.info }

// Close waits for running transcriptions to finish and frees the model, states and VAD
// contexts. Transcribe calls waiting for a worker fail with ErrClosed.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		close(e.done)
		for range e.all {
			<-e.free
		}
		e.freeAll()
	})
	return nil
}

// Transcribe transcribes 16 kHz mono samples in the configured language (asr.language) or, when
// none is forced, in the most probable of asr.languages. It waits for a free worker; cancelling
// ctx stops the wait, and stops whisper.cpp at its next computation step (abort callback).
func (e *Engine) Transcribe(ctx context.Context, pcm []float32) (Result, error) {
	return e.TranscribeLanguage(ctx, pcm, "")
}

// TranscribeLanguage is Transcribe with the language forced to lang (ISO 639-1, one whisper
// knows); an empty lang means the engine's configuration decides.
func (e *Engine) TranscribeLanguage(ctx context.Context, pcm []float32, lang string) (Result, error) {
	return e.TranscribeWith(ctx, pcm, Options{Language: lang})
}

// TranscribeWith is Transcribe with per-call options: a forced language, whisper's initial
// prompt.
func (e *Engine) TranscribeWith(ctx context.Context, pcm []float32, opt Options) (Result, error) {
	lang := opt.Language
	res := Result{DurationMS: int64(len(pcm)) * 1000 / SampleRate}
	prompt := opt.Prompt
	if prompt == "" {
		prompt = e.cfg.Prompt
	}
	if err := CheckPrompt(prompt); err != nil {
		return res, err
	}
	if len(pcm) == 0 {
		return res, ErrEmptyAudio
	}
	if len(pcm) > math.MaxInt32/2 {
		return res, fmt.Errorf("asr: %d samples is too long for whisper.cpp", len(pcm))
	}
	if lang == "" {
		lang = e.cfg.Language
	}
	if lang != "" {
		if _, ok := e.langIDs[lang]; !ok {
			cs := C.CString(lang)
			id := C.whisper_lang_id(cs)
			C.free(unsafe.Pointer(cs))
			if id < 0 {
				return res, fmt.Errorf("asr: language %q is not one whisper knows", lang)
			}
		}
	}
	if !e.multilingual {
		lang = "en"
	}
	select {
	case <-e.done:
		return res, ErrClosed
	default:
	}
	var w *worker
	select {
	case w = <-e.free:
	case <-ctx.Done():
		return res, fmt.Errorf("asr: waiting for a worker: %w", context.Cause(ctx))
	case <-e.done:
		return res, ErrClosed
	}
	defer func() { e.free <- w }()

	C.sentio_set_flag(w.abort, 0)
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		C.sentio_set_flag(w.abort, 1)
		close(fired)
	})
	defer func() {
		// If the cancellation callback has started, wait for it: it must not set the flag
		// after the worker went back to the pool for the next request.
		if !stop() {
			<-fired
		}
	}()

	// Voice activity detection: keep only speech.
	audio := pcm
	var spans []speechSpan
	if w.vad != nil {
		var err error
		if spans, err = e.speech(w, pcm); err != nil {
			return res, err
		}
		if len(spans) == 0 {
			return res, nil
		}
		audio = concatSpeech(pcm, spans)
		for _, s := range spans {
			res.SpeechMS += int64(s.srcEnd-s.srcStart) * 1000 / SampleRate
		}
	} else {
		res.SpeechMS = res.DurationMS
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("asr: %w", context.Cause(ctx))
	}

	var cprompt *C.char
	if prompt != "" {
		cprompt = C.CString(prompt)
		defer C.free(unsafe.Pointer(cprompt))
	}
	// A model with a short window (the bundled one: 6 s) decodes without timestamps, and
	// whisper.cpp then moves on by 30 s after each window, skipping the rest of it: when the
	// audio is longer than a window, whisper_full gets one piece of at most one window at a time
	// (each VAD stretch, split when longer), placed by its position.
	win := e.windowSamples()
	pieces := win < 30*SampleRate && len(audio) > win*97/100

	// Language: forced, or whisper's probabilities restricted to the configured languages:
	// from the transcription's own encoder output when a guess of the language holds
	// (asr.guess_language), else from an encoder pass of their own first.
	melReady := false
	if lang != "" {
		res.Language, res.LanguageProb = lang, 1
	} else if guess := e.guess(opt.LanguageHint); guess != "" && !pieces && w.decoded {
		done, err := e.decodeGuessing(ctx, w, decodeRequest{audio: audio, spans: spans, prompt: cprompt}, guess, &res)
		if err != nil || done {
			return res, err
		}
		melReady = true
	} else {
		probs := make([]C.float, int(C.whisper_lang_max_id())+1)
		if rc := C.sentio_detect(e.ctx, w.state, (*C.float)(&audio[0]), C.int(len(audio)), C.int(e.cfg.Threads), C.int(e.audioCtx(len(audio))), &probs[0]); rc < 0 {
			return res, fmt.Errorf("asr: whisper.cpp language detection failed (code %d)", int(rc))
		}
		e.setLanguage(&res, probs)
		melReady = true
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("asr: %w", context.Cause(ctx))
	}

	clang := C.CString(res.Language)
	defer C.free(unsafe.Pointer(clang))
	res.Segments = []Segment{}
	res.Words = nil
	if pieces {
		var parts []speechSpan
		if spans != nil {
			parts = spans
		} else {
			parts = []speechSpan{{srcStart: 0, srcEnd: len(pcm)}}
		}
		for _, p := range splitSpans(parts, win*97/100) {
			req := decodeRequest{audio: pcm[p.srcStart:p.srcEnd], offsetMS: int64(p.srcStart) * 1000 / SampleRate, lang: clang, prompt: cprompt}
			if err := e.decode(ctx, w, req, &res); err != nil {
				return res, err
			}
		}
	} else {
		req := decodeRequest{audio: audio, melReady: melReady, spans: spans, lang: clang, prompt: cprompt}
		if err := e.decode(ctx, w, req, &res); err != nil {
			return res, err
		}
	}
	e.finish(&res)
	return res, nil
}

// finish completes a transcription's result.
func (e *Engine) finish(res *Result) {
	res.Text = joinText(res.Segments)
	if res.Words == nil {
		res.Words = []Word{}
	}
}

// guess returns the language to decode in before detection confirms it (asr.guess_language):
// the hint (the call's previous utterance's language), else the last language detected; ""
// when there is none to guess.
func (e *Engine) guess(hint string) string {
	if !e.cfg.GuessLanguage || !e.multilingual {
		return ""
	}
	if _, ok := e.langIDs[hint]; ok {
		return hint
	}
	last, _ := e.lastLang.Load().(string)
	return last
}

// decodeGuessing decodes req in the guessed language, then reads whisper's language
// probabilities from that pass's encoder output (one decoder step, no encoder pass of its own).
// When the language detected is the guess, res is complete and done is true. Otherwise res holds
// the language detected, and the worker's state the audio's spectrogram, for decoding again.
//
// whisper_full takes its no-speech probability from logits its state holds from before (see
// sentio_no_speech): after detection first, those of this audio's start of transcript; here,
// the previous utterance's. The probability is set right afterwards, and in the rare case that
// the two fall on different sides of whisper's no-speech threshold (which decides whether a
// window is silence, and whether to fall back to a higher temperature) the audio is decoded
// again with the right one, so that the result is the one detection first gives.
func (e *Engine) decodeGuessing(ctx context.Context, w *worker, req decodeRequest, guess string, res *Result) (done bool, err error) {
	req.lang = C.CString(guess)
	defer C.free(unsafe.Pointer(req.lang))
	stale := float32(C.sentio_no_speech(e.ctx, w.state))
	trial := *res
	trial.Segments = []Segment{}
	if err := e.decode(ctx, w, req, &trial); err != nil {
		return false, err
	}
	probs := make([]C.float, int(C.whisper_lang_max_id())+1)
	if rc := C.sentio_detect_encoded(e.ctx, w.state, C.int(e.cfg.Threads), &probs[0]); rc < 0 {
		return false, fmt.Errorf("asr: whisper.cpp language detection failed (code %d)", int(rc))
	}
	e.setLanguage(&trial, probs)
	if trial.Language != guess {
		e.guessStats.missed.Add(1)
		res.Language, res.LanguageProb, res.LanguageProbs = trial.Language, trial.LanguageProb, trial.LanguageProbs
		res.Detected, res.DetectedProb = trial.Detected, trial.DetectedProb
		return false, nil
	}
	noSpeech, thold := float32(C.sentio_no_speech(e.ctx, w.state)), float32(C.sentio_no_speech_thold())
	if (stale > thold) != (noSpeech > thold) {
		e.guessStats.redone.Add(1)
		trial.Segments, trial.Words = []Segment{}, nil
		req.melReady = true
		if err := e.decode(ctx, w, req, &trial); err != nil {
			return false, err
		}
	}
	e.guessStats.held.Add(1)
	for i := range trial.Segments {
		trial.Segments[i].NoSpeechProb = noSpeech
	}
	*res = trial
	e.finish(res)
	return true, nil
}

// forceStaleNoSpeech makes the no-speech probability whisper_full will read from a worker's
// state (see decodeGuessing) v's softmax share, for tests of the case where it falls on the
// other side of the threshold. The worker must have decoded once.
func (e *Engine) forceStaleNoSpeech(v float32) {
	w := <-e.free
	defer func() { e.free <- w }()
	if w.decoded {
		C.sentio_force_no_speech(e.ctx, w.state, C.float(v))
	}
}

// setLanguage sets res's language from whisper's probabilities over every language it knows:
// the most probable of the configured languages, and the most probable of all.
func (e *Engine) setLanguage(res *Result, probs []C.float) {
	all := make(map[string]float32, len(e.langs))
	for _, l := range e.langs {
		all[l] = float32(probs[e.langIDs[l]])
	}
	res.LanguageProbs, res.Language, res.LanguageProb = restrict(all, e.langs)
	e.lastLang.Store(res.Language)
	for i, p := range probs {
		if float32(p) > res.DetectedProb {
			res.Detected, res.DetectedProb = C.GoString(C.whisper_lang_str(C.int(i))), float32(p)
		}
	}
}

// speech runs the worker's Silero VAD over pcm and returns the speech stretches, each extended
// by whisper.cpp's default overlap (0.1 s) like its own VAD path does.
func (e *Engine) speech(w *worker, pcm []float32) ([]speechSpan, error) {
	segs, err := w.vad.Segments(pcm)
	if err != nil {
		return nil, err
	}
	return spansOf(segs, len(pcm)), nil
}

// Languages returns the codes of every language whisper knows (ISO 639-1 where one exists), in
// whisper's order.
func Languages() []string {
	n := int(C.whisper_lang_max_id()) + 1
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, C.GoString(C.whisper_lang_str(C.int(i))))
	}
	return out
}

// windowSamples is the audio one encoder window covers: 2 mel frames of 10 ms per audio-context
// position (1500 positions = 30 s).
func (e *Engine) windowSamples() int {
	return e.info.UsedAudioCtx * 2 * 160
}

// decodeRequest is one whisper_full call of a transcription: the audio, where its times go in
// the transcribed audio, and the language and prompt to decode it with.
type decodeRequest struct {
	audio    []float32    // the samples to decode
	melReady bool         // the worker's state already holds audio's spectrogram (language detection computed it)
	offsetMS int64        // added to every time: where audio starts in the transcribed audio
	spans    []speechSpan // the VAD stretches audio was joined from, to map times back through; nil when audio is one stretch
	lang     *C.char      // the language's code
	prompt   *C.char      // whisper's initial prompt, nil for none
}

// decode runs whisper_full on req.audio and appends its segments to res, their times mapped back
// through req.spans (VAD) when given and shifted by req.offsetMS.
func (e *Engine) decode(ctx context.Context, w *worker, req decodeRequest, res *Result) error {
	audio, spans, offsetMS := req.audio, req.spans, req.offsetMS
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("asr: transcription stopped: %w", context.Cause(ctx))
	}
	// Without DTW, whisper.cpp's token timestamps need the signal's energy, which whisper_full
	// computes from the samples it is given: it gets them again (and recomputes the spectrogram).
	tokenTimes := !e.dtw && !e.noWords
	n := C.int(len(audio))
	if req.melReady && !tokenTimes {
		n = 0 // whisper_full reuses the spectrogram detection computed
	}
	rc := C.sentio_full(e.ctx, w.state, (*C.float)(&audio[0]), n, C.int(e.cfg.Threads),
		C.int(e.audioCtx(len(audio))), req.lang, C.bool(e.cfg.NoTimestamps), C.bool(e.cfg.NoFallback), 0, req.prompt, C.bool(tokenTimes), w.abort)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("asr: transcription stopped: %w", context.Cause(ctx))
	}
	if rc != 0 {
		return fmt.Errorf("asr: whisper.cpp transcription failed (whisper_full code %d)", int(rc))
	}
	w.decoded = true
	pieceMS := int64(len(audio)) * 1000 / SampleRate
	nseg := int(C.whisper_full_n_segments_from_state(w.state))
	for i := 0; i < nseg; i++ {
		ci := C.int(i)
		t0 := int64(C.whisper_full_get_segment_t0_from_state(w.state, ci)) * 10 // centiseconds
		t1 := int64(C.whisper_full_get_segment_t1_from_state(w.state, ci)) * 10
		// Without timestamp tokens whisper.cpp's segment times run to the window's end: clamp
		// them to the audio given.
		t0 = max(0, min(t0, pieceMS))
		t1 = max(t0, min(t1, pieceMS))
		segEnd := t1
		if spans != nil {
			t0, t1 = mapTime(t0, spans), mapTime(t1, spans)
		}
		res.Segments = append(res.Segments, Segment{
			StartMS:      offsetMS + t0,
			EndMS:        offsetMS + t1,
			Text:         C.GoString(C.whisper_full_get_segment_text_from_state(w.state, ci)),
			NoSpeechProb: float32(C.whisper_full_get_segment_no_speech_prob_from_state(w.state, ci)),
		})
		if e.noWords {
			continue
		}
		words := wordsOf(e.tokens(w, ci, segEnd, pieceMS))
		trimToVoice(words, audio)
		for k := range words {
			if spans != nil {
				words[k].StartMS, words[k].EndMS = mapTime(words[k].StartMS, spans), mapTime(words[k].EndMS, spans)
			}
			words[k].StartMS += offsetMS
			words[k].EndMS += offsetMS
		}
		res.Words = append(res.Words, words...)
	}
	return nil
}

// tokens returns the text tokens of segment i with their times in the decoded audio (ms, within
// 0..pieceMS): from DTW, a token runs from its t_dtw to the next one's (the last to segEnd);
// otherwise from whisper.cpp's token t0 to t1.
func (e *Engine) tokens(w *worker, i C.int, segEnd, pieceMS int64) []token {
	eot := C.whisper_token_eot(e.ctx)
	n := int(C.whisper_full_n_tokens_from_state(w.state, i))
	toks := make([]token, 0, n)
	for j := 0; j < n; j++ {
		cj := C.int(j)
		if C.whisper_full_get_token_id_from_state(w.state, i, cj) >= eot {
			continue // special tokens: start of transcript, language, timestamps ...
		}
		d := C.whisper_full_get_token_data_from_state(w.state, i, cj)
		t := token{text: C.GoString(C.whisper_full_get_token_text_from_state(e.ctx, w.state, i, cj)), p: float32(d.p)}
		if e.dtw {
			t.startMS = int64(d.t_dtw) * 10
		} else {
			t.startMS, t.endMS = int64(d.t0)*10, int64(d.t1)*10
		}
		toks = append(toks, t)
	}
	if e.dtw {
		// t_dtw is when the token was output, that is when its sound ends: a token runs from
		// the one before it to its own (the first from the segment's start, the last to its end).
		prev := int64(0)
		for k := range toks {
			toks[k].startMS, toks[k].endMS, prev = prev, toks[k].startMS, toks[k].startMS
		}
		if len(toks) > 0 {
			toks[len(toks)-1].endMS = max(toks[len(toks)-1].endMS, segEnd)
		}
	}
	for k := range toks {
		toks[k].startMS = max(0, min(toks[k].startMS, pieceMS))
		toks[k].endMS = max(toks[k].startMS, min(toks[k].endMS, pieceMS))
	}
	return toks
}

// audioCtx is the encoder context of a whisper.cpp call on samples samples: the configured one
// (asr.audio_ctx, 0 for the model's), or with asr.adaptive_audio_ctx one that just holds them.
func (e *Engine) audioCtx(samples int) int {
	if !e.cfg.AdaptiveAudioCtx {
		return e.cfg.AudioCtx
	}
	return adaptiveAudioCtx(samples, e.cfg.AudioCtx, e.info.AudioCtx, e.info.FlashAttention)
}
