package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFile writes a config file into a fresh directory and returns its path.
func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// clearEnv unsets every SENTIO_* variable that names a key, for the duration of the test.
func clearEnv(t *testing.T) {
	for _, f := range Fields() {
		if _, ok := os.LookupEnv(f.Env); ok {
			t.Setenv(f.Env, "")
			os.Unsetenv(f.Env)
		}
	}
}

func mustFail(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error containing %q, got none", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\n  does not contain %q", err, w)
		}
	}
}

func TestDefaultsLoadAndValidate(t *testing.T) {
	clearEnv(t)
	t.Setenv("STATE_DIRECTORY", "/var/lib/private/sentio")
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if !c.NATS.Embedded || c.NATS.Listen != "127.0.0.1:4222" || c.ShutdownTimeout != 30*time.Second {
		t.Errorf("unexpected defaults: %+v", c.NATS)
	}
	if c.StateDir != "/var/lib/private/sentio" {
		t.Errorf("state_dir = %q, want systemd's $STATE_DIRECTORY", c.StateDir)
	}
	if !filepath.IsAbs(c.ASR.Model) || !strings.HasSuffix(c.ASR.Model, DefaultASRModel) {
		t.Errorf("asr.model = %q, want an absolute path ending in %s", c.ASR.Model, DefaultASRModel)
	}
	if got := strings.Join(c.LangID.Languages, ","); got != "vi,en,zh,de,fr" {
		t.Errorf("langid.languages = %s", got)
	}
	if c.Log.IncludeText {
		t.Error("log.include_text must default to false")
	}
}

func TestUnknownKeyNamesKeyAndLine(t *testing.T) {
	clearEnv(t)
	p := writeFile(t, "log:\n  level: info\nnats:\n  embedded: false\n  urll: nats://x:4222\n")
	_, err := Load(p)
	mustFail(t, err, p+":5: ", `unknown key "nats.urll"`, "allowed: embedded, listen, url,", `did you mean "nats.url"?`)
	var es Errors
	if !errors.As(err, &es) || es[0].Source.Line != 5 {
		t.Errorf("want Errors with line 5, got %#v", err)
	}
}

func TestUnknownTopLevelAndNestedKeys(t *testing.T) {
	clearEnv(t)
	p := writeFile(t, "shutdown_timeot: 10s\nnats:\n  tls:\n    cafile: /x\n")
	_, err := Load(p)
	mustFail(t, err, p+":1: ", `unknown key "shutdown_timeot"`, `did you mean "shutdown_timeout"`,
		p+":4: ", `unknown key "nats.tls.cafile" (allowed: ca, cert, key)`)
}

func TestBadValues(t *testing.T) {
	clearEnv(t)
	cases := []struct {
		name, body string
		wants      []string
	}{
		{"enum", "log:\n  level: verbose\n", []string{":2: log.level: \"verbose\" is not allowed (allowed: debug, info, warn, error)"}},
		{"integer", "nats:\n  max_deliver: lots\n", []string{":2: nats.max_deliver: \"lots\" is not an integer"}},
		{"range", "nats:\n  replicas: 7\n", []string{":2: nats.replicas: 7 is not allowed (allowed: 1 to 5)"}},
		{"duration without unit", "shutdown_timeout: 30\n", []string{":1: shutdown_timeout: \"30\" is not a duration", "e.g. 30s"}},
		{"duration too short", "shutdown_timeout: 10ms\n", []string{":1: shutdown_timeout: 10ms is not allowed (allowed: a duration >= 1s)"}},
		{"dlq age", "nats:\n  dlq_max_age: 30s\n", []string{":2: nats.dlq_max_age: 30s is not allowed (allowed: 0 (no limit) or a duration >= 1m)"}},
		{"bool", "log:\n  include_text: yes please\n", []string{":2: log.include_text: \"yes please\" is not a bool (allowed: true, false)"}},
		{"list", "asr:\n  languages: en\n", []string{":2: asr.languages: expected a list"}},
		{"language", "langid:\n  languages: [en, xx]\n", []string{":2: langid.languages: \"xx\" is not a language code whisper knows"}},
		{"section not a mapping", "nats: 3\n", []string{":1: nats: expected a mapping of keys for nats"}},
		{"duplicate", "log:\n  level: info\n  level: debug\n", []string{":3: duplicate key \"log.level\" (first set on line 2)"}},
		{"not yaml", "log: [\n", []string{"not valid YAML"}},
		{"external without url", "nats:\n  embedded: false\n", []string{":2: nats.url: is empty while nats.embedded is false"}},
		{"listen", "http:\n  listen: localhost\n", []string{":2: http.listen: \"localhost\" is not host:port"}},
		{"tls pair", "nats:\n  tls:\n    cert: c.pem\n", []string{"nats.tls.key: is empty while the other"}},
		{"auth", "nats:\n  token: t\n  creds: c\n", []string{":2: nats.token: is set together with nats.creds"}},
		{"dedupe window vs ack wait", "nats:\n  ack_wait: 1m\n  dedupe_window: 90s\n", []string{"nats.dedupe_window: is 1m30s, shorter than twice nats.ack_wait (1m0s)"}},
		{"held vs ack pending", "nats:\n  max_ack_pending: 1000\npipeline:\n  max_call_chunks: 600\n", []string{":2: nats.max_ack_pending: is 1000, less than twice pipeline.max_call_chunks (600)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.body)
			_, err := Load(p)
			mustFail(t, err, tc.wants...)
		})
	}
}

func TestSeveralErrorsReportedTogether(t *testing.T) {
	clearEnv(t)
	p := writeFile(t, "log:\n  level: loud\n  format: xml\n")
	_, err := Load(p)
	mustFail(t, err, ":2: log.level", ":3: log.format")
}

func TestMissingFile(t *testing.T) {
	clearEnv(t)
	p := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(p)
	if !errors.Is(err, ErrNoFile) {
		t.Fatalf("want ErrNoFile, got %v", err)
	}
	mustFail(t, err, p)
}

func TestEmptyFileIsDefaults(t *testing.T) {
	clearEnv(t)
	c, err := Load(writeFile(t, "# nothing here\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Level != "info" {
		t.Errorf("log.level = %q", c.Log.Level)
	}
}

func TestPrecedenceFileEnvFlag(t *testing.T) {
	clearEnv(t)
	p := writeFile(t, "log:\n  level: debug\n  format: text\nnats:\n  embedded: false\n  url: nats://file:4222\nasr:\n  threads: 3\n")
	t.Setenv("SENTIO_LOG_LEVEL", "warn")
	t.Setenv("SENTIO_NATS_URL", "nats://env:4222")
	t.Setenv("SENTIO_ASR_LANGUAGES", "en, de")
	c, err := Load(p, Override{Key: "nats.url", Value: "nats://flag:4222", Flag: "--nats-url"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Format != "text" || c.ASR.Threads != 3 {
		t.Errorf("file values lost: format=%q threads=%d", c.Log.Format, c.ASR.Threads)
	}
	if c.Log.Level != "warn" {
		t.Errorf("env did not override file: log.level=%q", c.Log.Level)
	}
	if c.NATS.URL != "nats://flag:4222" {
		t.Errorf("flag did not override env: nats.url=%q", c.NATS.URL)
	}
	if !reflect.DeepEqual(c.ASR.Languages, []string{"en", "de"}) {
		t.Errorf("asr.languages from env = %q", c.ASR.Languages)
	}
	if s := c.SourceOf("log.format").String(); s != p+":3" {
		t.Errorf("source of log.format = %q", s)
	}
	if s := c.SourceOf("log.level").String(); s != "environment SENTIO_LOG_LEVEL" {
		t.Errorf("source of log.level = %q", s)
	}
	if s := c.SourceOf("nats.url").String(); s != "flag --nats-url" {
		t.Errorf("source of nats.url = %q", s)
	}
}

func TestBadEnvAndFlagNameTheirSource(t *testing.T) {
	clearEnv(t)
	t.Setenv("SENTIO_LOG_LEVEL", "chatty")
	_, err := Load("")
	mustFail(t, err, `environment SENTIO_LOG_LEVEL: log.level: "chatty" is not allowed (allowed: debug, info, warn, error)`)

	clearEnv(t)
	t.Setenv("SENTIO_PIPELINE_QUEUE_SIZE", "many")
	_, err = Load("")
	mustFail(t, err, `environment SENTIO_PIPELINE_QUEUE_SIZE: pipeline.queue_size: "many" is not an integer`)

	clearEnv(t)
	_, err = Load("", Override{Key: "http.listen", Value: "nowhere", Flag: "--http-listen"})
	mustFail(t, err, `flag --http-listen: http.listen: "nowhere" is not host:port`)
	_, err = Load("", Override{Key: "asr.treads", Value: "2", Flag: "--set"})
	mustFail(t, err, `flag --set: unknown key "asr.treads" (did you mean "asr.threads"?)`)
}

func TestRelativePathsFromFileAreRelativeToIt(t *testing.T) {
	clearEnv(t)
	p := writeFile(t, "asr:\n  model: m/x.bin\nstate_dir: st\nreasoning:\n  model_dir: /abs/r\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(p)
	if c.ASR.Model != filepath.Join(dir, "m/x.bin") || c.StateDir != filepath.Join(dir, "st") || c.Reasoning.ModelDir != "/abs/r" {
		t.Errorf("paths: model=%q state=%q reasoning=%q", c.ASR.Model, c.StateDir, c.Reasoning.ModelDir)
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	clearEnv(t)
	t.Setenv("SENTIO_NATS_TOKEN", "s3cr3t-token")
	p := writeFile(t, "nats:\n  embedded: false\n  url: nats://n:4222\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Redacted().YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cr3t") {
		t.Fatalf("secret printed:\n%s", out)
	}
	if !strings.Contains(string(out), "token: REDACTED") || !strings.Contains(string(out), `password: ""`) {
		t.Errorf("want token REDACTED and the unset password empty:\n%s", out)
	}
	if c.NATS.Token != "s3cr3t-token" {
		t.Error("Redacted modified the original")
	}
	if !strings.Contains(string(out), "# from environment SENTIO_NATS_TOKEN") || !strings.Contains(string(out), "# from "+p+":3") {
		t.Errorf("want source comments:\n%s", out)
	}
}

func TestPrintedYAMLLoadsBackIdentically(t *testing.T) {
	clearEnv(t)
	p := writeFile(t, "asr:\n  languages: [en, fr]\n  threads: 4\nreasoning:\n  max_wait: 1m30s\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Load(writeFile(t, string(out)))
	if err != nil {
		t.Fatalf("printed config does not load: %v\n%s", err, out)
	}
	c.sources, c2.sources = nil, nil
	if !reflect.DeepEqual(c, c2) {
		t.Errorf("round trip changed the config:\n%+v\n%+v", c, c2)
	}
}

func TestFieldsHaveUniqueEnvNamesAndDocs(t *testing.T) {
	docs, err := docComments()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, f := range Fields() {
		if other, dup := seen[f.Env]; dup {
			t.Errorf("%s and %s share %s", f.Key, other, f.Env)
		}
		seen[f.Env] = f.Key
		if d := docs[f.parent+"."+f.name]; !strings.HasPrefix(d, f.name) {
			t.Errorf("%s: doc comment %q must be a sentence starting with %s", f.Key, d, f.name)
		}
	}
}

// The rule sets are merged into rules in one place, and a key declared twice is a panic at start,
// not a rule silently replaced by the other.
func TestRulesMergeRefusesADuplicateKey(t *testing.T) {
	a := map[string]rule{"nats.listen": hostPort(false)}
	if got := mergeRules(a, map[string]rule{"redact.mode": oneOf("off")}); len(got) != 2 {
		t.Fatalf("merged %d rules; want 2", len(got))
	}
	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "nats.listen") {
			t.Fatalf("merging a duplicate key: panic %v; want one naming nats.listen", p)
		}
	}()
	mergeRules(a, map[string]rule{"nats.listen": intMin(1)})
}

// Every rule is the rule of a configuration key.
func TestRulesAreOfKeys(t *testing.T) {
	keys := map[string]bool{}
	for _, f := range Fields() {
		keys[f.Key] = true
	}
	for k := range rules {
		if !keys[k] {
			t.Errorf("rule for %s, which is not a configuration key", k)
		}
	}
}
