package config

import (
	"fmt"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/sentio-health/sentio/wire"
)

// rule is the validation of one key: what is allowed, in words (shown in errors and in the
// README), and the check itself, which returns the problem or "".
type rule struct {
	allowed string
	check   func(v reflect.Value) string
}

// rules declares, for each key that has constraints, what is allowed. Cross-key rules live in
// [Config.Validate]. The rules are declared by concern, in the files of their keys, and merged
// here only.
var rules = mergeRules(coreRules, alertRules, redactRules, llmRules)

// mergeRules returns the union of sets. A key in two of them panics (at start-up): one rule
// would otherwise silently replace the other.
func mergeRules(sets ...map[string]rule) map[string]rule {
	out := map[string]rule{}
	for _, set := range sets {
		for k, r := range set {
			if _, dup := out[k]; dup {
				panic(fmt.Sprintf("config: two validation rules for %s", k))
			}
			out[k] = r
		}
	}
	return out
}

// coreRules are the rules of the nats, pipeline, asr, langid, reasoning (beside reasoning.llm),
// http and log keys.
var coreRules = map[string]rule{
	"nats.listen":          hostPort(false),
	"nats.replicas":        intRange(1, 5),
	"nats.audio_stream":    streamName(),
	"nats.audio_subject":   subjectPrefix(),
	"nats.result_stream":   streamName(),
	"nats.result_subject":  subjectPrefix(),
	"nats.dlq_stream":      streamName(),
	"nats.dlq_subject":     subjectPrefix(),
	"nats.consumer":        streamName(),
	"nats.max_deliver":     intMin(1),
	"nats.ack_wait":        durMin(time.Second),
	"nats.max_ack_pending": intMin(1),
	"nats.max_age":         durMin(0),
	"nats.audio_max_age": {"0 (no limit) or a duration >= 10m", func(v reflect.Value) string {
		d := time.Duration(v.Int())
		return ifBad(d == 0 || d >= 10*time.Minute, v)
	}},
	"nats.dlq_max_age": {"0 (no limit) or a duration >= 1m", func(v reflect.Value) string {
		d := time.Duration(v.Int())
		return ifBad(d == 0 || d >= time.Minute, v)
	}},
	"nats.max_bytes":           {"-1 (no limit) or a positive number of bytes", func(v reflect.Value) string { return ifBad(v.Int() == -1 || v.Int() > 0, v) }},
	"nats.max_object_bytes":    intMin(1),
	"nats.dedupe_window":       durMin(time.Second),
	"pipeline.segment_workers": intMin(1),
	"pipeline.asr_workers":     intMin(1),
	"pipeline.reason_workers":  intMin(1),
	"pipeline.queue_size":      intMin(1),
	"pipeline.max_utterance":   durRange(time.Second, 30*time.Second),
	"pipeline.idle_flush":      durMin(100 * time.Millisecond),
	"pipeline.max_call_chunks": intMin(16),
	"pipeline.max_calls":       intMin(1),
	"asr.model":                nonEmpty("a ggml model file"),
	"asr.threads":              intMin(1),
	"asr.languages":            langList(),
	"asr.language":             {"empty (detect) or one of asr.languages", nil},
	"asr.audio_ctx":            intRange(0, 1500),
	"asr.prompt": {fmt.Sprintf("at most %d bytes of UTF-8 text without control characters", wire.MaxPromptBytes), func(v reflect.Value) string {
		if err := wire.CheckPrompt(v.String()); err != nil {
			return strings.TrimPrefix(err.Error(), "the prompt ")
		}
		return ""
	}},
	"asr.max_duration":       durMin(0),
	"asr.call_timeout":       durZeroOrMin(time.Second),
	"langid.languages":       langList(),
	"langid.min_chars":       intMin(0),
	"langid.whisper_weight":  {"0 to 1", func(v reflect.Value) string { return ifBad(v.Float() >= 0 && v.Float() <= 1, v) }},
	"reasoning.model_dir":    nonEmpty("a directory"),
	"reasoning.provider":     oneOf("cpu", "cuda", "auto"),
	"reasoning.threads":      intMin(0),
	"reasoning.max_batch":    intMin(1),
	"reasoning.max_wait":     durMin(0),
	"reasoning.ort_library":  nonEmpty("a file name (searched in the library path) or a path"),
	"reasoning.call_timeout": durZeroOrMin(time.Second),
	"log.level":              oneOf("debug", "info", "warn", "error"),
	"log.format":             oneOf("auto", "text", "json"),
	"http.listen":            hostPort(true),
	"http.console_token":     consoleToken(),
	"state_dir":              nonEmpty("a directory"),
	"shutdown_timeout":       durMin(time.Second),

	// The transformer reasoning kinds (encoder-classifier, seq2seq).
	"reasoning.occlusion_top_k": intRange(0, 64),
	"reasoning.num_beams":       intRange(0, 16),
}

// Validate checks every key against its rule and the keys against each other. The error is
// [Errors], each naming the key, where its value came from (file and line, environment variable
// or flag), the bad value and what is allowed.
func (c *Config) Validate() error {
	var errs Errors
	bad := func(key, msg string) {
		errs = append(errs, &Error{Source: c.sources[key], Key: key, Msg: msg})
	}
	for _, f := range Fields() {
		r, ok := rules[f.Key]
		if !ok || r.check == nil {
			continue
		}
		if p := r.check(f.value(c)); p != "" {
			bad(f.Key, fmt.Sprintf("%s (allowed: %s)", p, r.allowed))
		}
	}
	n := c.NATS
	if !n.Embedded && strings.TrimSpace(n.URL) == "" {
		errs = append(errs, &Error{Source: c.sources["nats.embedded"], Key: "nats.url", Msg: "is empty while nats.embedded is false (allowed: nats://host:4222, tls://host:4222 or several comma-separated, or set nats.embedded: true)"})
	}
	for _, u := range strings.Split(n.URL, ",") {
		if u = strings.TrimSpace(u); u != "" {
			if p := checkNATSURL(u); p != "" {
				bad("nats.url", p)
			}
		}
	}
	var auth []string
	for _, a := range []struct{ key, val string }{{"nats.creds", n.Creds}, {"nats.nkey", n.NKey}, {"nats.user", n.User}, {"nats.token", n.Token}} {
		if a.val != "" {
			auth = append(auth, a.key)
		}
	}
	if len(auth) > 1 {
		bad(auth[1], fmt.Sprintf("is set together with %s (allowed: one way to authenticate: creds, nkey, user and password, or token)", auth[0]))
	}
	if n.Password != "" && n.User == "" {
		bad("nats.password", "is set without nats.user (allowed: a password together with a user)")
	}
	if (n.TLS.Cert == "") != (n.TLS.Key == "") {
		key := "nats.tls.cert"
		if n.TLS.Cert != "" {
			key = "nats.tls.key"
		}
		bad(key, "is empty while the other of nats.tls.cert and nats.tls.key is set (allowed: both, for mutual TLS, or neither)")
	}
	if n.Embedded {
		c.validateEmbedded(bad)
	}
	if n.DedupeWindow > 0 && n.AckWait > 0 && n.DedupeWindow < 2*n.AckWait {
		bad("nats.dedupe_window", fmt.Sprintf("is %s, shorter than twice nats.ack_wait (%s): a replay after a crash would double results (allowed: at least %s)",
			n.DedupeWindow, n.AckWait, 2*n.AckWait))
	}
	if n.MaxAckPending > 0 && c.Pipeline.MaxCallChunks > 0 && n.MaxAckPending < 2*c.Pipeline.MaxCallChunks {
		bad("nats.max_ack_pending", fmt.Sprintf("is %d, less than twice pipeline.max_call_chunks (%d): one call at its bound could stall a partition (allowed: at least %d, or lower pipeline.max_call_chunks)",
			n.MaxAckPending, c.Pipeline.MaxCallChunks, 2*c.Pipeline.MaxCallChunks))
	}
	if t := c.Reasoning.LLM.TLS; (t.Cert == "") != (t.Key == "") {
		key := "reasoning.llm.tls.cert"
		if t.Cert != "" {
			key = "reasoning.llm.tls.key"
		}
		bad(key, "is empty while the other of reasoning.llm.tls.cert and reasoning.llm.tls.key is set (allowed: both, for mutual TLS, or neither)")
	}
	if l, ct := c.Reasoning.LLM, c.Reasoning.CallTimeout; l.URL != "" && ct > 0 && l.Timeout*time.Duration(l.Retries+1) >= ct {
		bad("reasoning.llm.timeout", fmt.Sprintf("is %s, and %d tries of it reach reasoning.call_timeout (%s): the watchdog would restart sentio before the fallback answers (allowed: timeout × (retries + 1) below call_timeout; lower one or raise call_timeout)",
			l.Timeout, l.Retries+1, ct))
	}
	if c.ASR.Language != "" && !slices.Contains(c.ASR.Languages, c.ASR.Language) {
		bad("asr.language", fmt.Sprintf("%q is not in asr.languages (allowed: empty to detect, or one of %s)", c.ASR.Language, strings.Join(c.ASR.Languages, ", ")))
	}
	if c.HTTP.Listen != "" && c.NATS.Embedded && c.HTTP.Listen == c.NATS.Listen && !strings.HasSuffix(c.HTTP.Listen, ":0") {
		bad("http.listen", fmt.Sprintf("%q is also nats.listen (allowed: a different address)", c.HTTP.Listen))
	}
	c.validateAlerts(&errs)
	if c.HTTP.Console && c.HTTP.ConsoleToken == "" && c.HTTP.Listen != "" && !LoopbackAddr(c.HTTP.Listen) {
		bad("http.console_token", fmt.Sprintf("is empty while http.console is on and http.listen %q is not a loopback address: anyone who reaches it could read transcripts (allowed: a token of at least 16 characters, e.g. from openssl rand -hex 32, in SENTIO_HTTP_CONSOLE_TOKEN; or http.listen on 127.0.0.1, [::1] or localhost)", c.HTTP.Listen))
	}
	return errs.asError()
}

// validateEmbedded checks the keys that mean something else, or nothing, with the embedded
// server: client credentials are rejected rather than ignored, and without authentication the
// server may listen on loopback only.
func (c *Config) validateEmbedded(bad func(key, msg string)) {
	n := c.NATS
	for _, a := range []struct{ key, val string }{{"nats.creds", n.Creds}, {"nats.nkey", n.NKey}, {"nats.user", n.User}, {"nats.password", n.Password}, {"nats.token", n.Token}} {
		if a.val != "" {
			bad(a.key, "is set while nats.embedded is true: the embedded server makes its own credentials in state_dir/auth and sentio logs in with those (allowed: empty; for an external server set nats.embedded: false and nats.url)")
		}
	}
	if n.TLS.CA != "" && n.TLS.Cert == "" {
		bad("nats.tls.ca", "is set while nats.embedded is true and nats.tls.cert is not: TLS on the embedded listener needs its certificate (allowed: empty, or together with nats.tls.cert and nats.tls.key)")
	}
	if !n.EmbeddedAuth && !LoopbackAddr(n.Listen) {
		bad("nats.listen", fmt.Sprintf("%q is not a loopback address while nats.embedded_auth is false: anyone who reaches it could read audio and results and change the streams (allowed: 127.0.0.1:port, [::1]:port or localhost:port, or nats.embedded_auth: true)", n.Listen))
	}
}

// LoopbackAddr reports whether the host of host:port is a loopback address or localhost. An
// empty host (every interface) is not.
func LoopbackAddr(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// consoleToken checks http.console_token, a secret: the message never repeats it.
func consoleToken() rule {
	return rule{"empty, or at least 16 characters without spaces", func(v reflect.Value) string {
		if t := v.String(); t != "" && (len(t) < 16 || strings.ContainsAny(t, " \t\r\n")) {
			return "is too short or has spaces"
		}
		return ""
	}}
}

func ifBad(ok bool, v reflect.Value) string {
	if ok {
		return ""
	}
	return fmt.Sprintf("%s is not allowed", quoteValue(v))
}

func quoteValue(v reflect.Value) string {
	s := formatValue(v)
	if v.Kind() == reflect.String || v.Kind() == reflect.Slice {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func oneOf(vals ...string) rule {
	return rule{strings.Join(vals, ", "), func(v reflect.Value) string { return ifBad(slices.Contains(vals, v.String()), v) }}
}

func intMin(n int64) rule {
	return rule{fmt.Sprintf("an integer >= %d", n), func(v reflect.Value) string { return ifBad(v.Int() >= n, v) }}
}

func intRange(a, b int64) rule {
	return rule{fmt.Sprintf("%d to %d", a, b), func(v reflect.Value) string { return ifBad(v.Int() >= a && v.Int() <= b, v) }}
}

func durMin(d time.Duration) rule {
	return rule{"a duration >= " + formatDuration(d), func(v reflect.Value) string { return ifBad(time.Duration(v.Int()) >= d, v) }}
}

// durZeroOrMin: 0 to disable, else at least d.
func durZeroOrMin(d time.Duration) rule {
	return rule{"0 (disabled) or a duration >= " + formatDuration(d), func(v reflect.Value) string {
		x := time.Duration(v.Int())
		return ifBad(x == 0 || x >= d, v)
	}}
}

func durRange(a, b time.Duration) rule {
	return rule{fmt.Sprintf("%s to %s", formatDuration(a), formatDuration(b)), func(v reflect.Value) string {
		d := time.Duration(v.Int())
		return ifBad(d >= a && d <= b, v)
	}}
}

func nonEmpty(what string) rule {
	return rule{what, func(v reflect.Value) string {
		if strings.TrimSpace(v.String()) == "" {
			return "is empty"
		}
		return ""
	}}
}

func hostPort(optional bool) rule {
	allowed := "host:port, e.g. 127.0.0.1:4222 or :4222"
	if optional {
		allowed = "host:port, e.g. 127.0.0.1:9464, or empty to disable"
	}
	return rule{allowed, func(v reflect.Value) string {
		s := v.String()
		if s == "" && optional {
			return ""
		}
		host, port, err := net.SplitHostPort(s)
		if err != nil || port == "" || strings.ContainsAny(host, " /") {
			return fmt.Sprintf("%q is not host:port", s)
		}
		if _, err := net.LookupPort("tcp", port); err != nil {
			return fmt.Sprintf("%q has an invalid port", s)
		}
		return ""
	}}
}

// streamName: JetStream stream and consumer names may not contain whitespace, '.', '*', '>',
// path separators or be empty.
func streamName() rule {
	return rule{"a non-empty name without spaces, '.', '*', '>', '/' or '\\'", func(v reflect.Value) string {
		s := v.String()
		if s == "" || strings.ContainsAny(s, " \t\r\n.*>/\\") {
			return ifBad(false, v)
		}
		return ""
	}}
}

func subjectPrefix() rule {
	return rule{"a NATS subject prefix of dot-separated tokens without spaces or wildcards, e.g. sentio.audio", func(v reflect.Value) string {
		s := v.String()
		if s == "" || strings.ContainsAny(s, " \t\r\n*>") {
			return ifBad(false, v)
		}
		for _, tok := range strings.Split(s, ".") {
			if tok == "" {
				return ifBad(false, v)
			}
		}
		return ""
	}}
}

func langList() rule {
	return rule{"a non-empty list of distinct ISO 639-1 codes whisper knows, e.g. [vi, en, zh, de, fr]", func(v reflect.Value) string {
		if v.Len() == 0 {
			return "is empty"
		}
		seen := map[string]bool{}
		for i := 0; i < v.Len(); i++ {
			l := v.Index(i).String()
			if !slices.Contains(WhisperLanguages, l) {
				return fmt.Sprintf("%q is not a language code whisper knows", l)
			}
			if seen[l] {
				return fmt.Sprintf("%q is listed twice", l)
			}
			seen[l] = true
		}
		return ""
	}}
}

func checkNATSURL(s string) string {
	shown := RedactURL(s) // quoted in the messages, without a password
	if !strings.Contains(s, "://") {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Sprintf("%q is not a NATS URL (allowed: nats://host:port, tls://host:port, ws://, wss:// or host:port)", shown)
		}
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Sprintf("%q is not a NATS URL (allowed: nats://host:port, tls://host:port, ws://, wss:// or host:port)", shown)
	}
	if !slices.Contains([]string{"nats", "tls", "ws", "wss"}, u.Scheme) {
		return fmt.Sprintf("%q has scheme %q (allowed: nats, tls, ws, wss)", shown, u.Scheme)
	}
	return ""
}

// WhisperLanguages are the language codes whisper.cpp knows (its g_lang table), in its order.
var WhisperLanguages = []string{
	"en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it",
	"id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur",
	"hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn",
	"et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si",
	"km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
	"ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha",
	"ba", "jw", "su", "yue",
}

// llmRules are the rules of the reasoning.llm keys.
var llmRules = map[string]rule{
	"reasoning.llm.url": {"empty, or the endpoint's API base: http://host:port/v1 or https://...", func(v reflect.Value) string {
		u, err := url.Parse(v.String())
		if v.String() == "" || (err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "") {
			return ""
		}
		return fmt.Sprintf("%q is not allowed", RedactURL(v.String()))
	}},
	"reasoning.llm.timeout":            durMin(100 * time.Millisecond),
	"reasoning.llm.max_concurrent":     intMin(1),
	"reasoning.llm.retries":            intRange(0, 10),
	"reasoning.llm.retry_backoff":      durMin(0),
	"reasoning.llm.breaker_failures":   intMin(1),
	"reasoning.llm.breaker_open":       durMin(time.Second),
	"reasoning.llm.few_shot":           intRange(0, 32),
	"reasoning.llm.context_utterances": intRange(0, 32),
	"reasoning.llm.context_chars":      intMin(0),
	"reasoning.llm.top_logprobs":       intRange(0, 20),
	"reasoning.llm.max_tokens":         intMin(16),
}
