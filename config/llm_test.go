package config

import (
	"strings"
	"testing"
)

func TestLLMValues(t *testing.T) {
	clearEnv(t)
	for _, c := range []struct {
		name, body string
		wants      []string
	}{
		{"url", "reasoning:\n  llm:\n    url: gpu1:8080\n", []string{":3: reasoning.llm.url: \"gpu1:8080\" is not allowed (allowed: empty, or the endpoint's API base"}},
		{"tls pair", "reasoning:\n  llm:\n    tls:\n      key: k.pem\n", []string{"reasoning.llm.tls.cert: is empty while the other"}},
		{"timeout vs call timeout", "reasoning:\n  call_timeout: 20s\n  llm:\n    url: http://gpu1:8080/v1\n    timeout: 10s\n    retries: 1\n",
			[]string{"reasoning.llm.timeout: is 10s, and 2 tries of it reach reasoning.call_timeout (20s)"}},
		{"top logprobs", "reasoning:\n  llm:\n    top_logprobs: 50\n", []string{"reasoning.llm.top_logprobs: 50 is not allowed (allowed: 0 to 20)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(writeFile(t, c.body))
			mustFail(t, err, c.wants...)
		})
	}
	p := writeFile(t, "reasoning:\n  llm:\n    url: https://gpu1:8443/v1\n    api_key: sk-secret-123\n    fallback_dir: m/reasoning\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Redacted(); r.Reasoning.LLM.APIKey != Redacted || c.Reasoning.LLM.APIKey != "sk-secret-123" {
		t.Errorf("api_key redacted %q, kept %q", r.Reasoning.LLM.APIKey, c.Reasoning.LLM.APIKey)
	}
	if !strings.HasSuffix(c.Reasoning.LLM.FallbackDir, "/m/reasoning") || !strings.HasPrefix(c.Reasoning.LLM.FallbackDir, "/") {
		t.Errorf("fallback_dir %q is not resolved against the file's directory", c.Reasoning.LLM.FallbackDir)
	}
}

// TestRedactedHidesCredentialsInTheLLMURL: a password or token inside reasoning.llm.url is
// hidden as nats.url's are, in sentio config print and in the errors that quote the URL.
func TestRedactedHidesCredentialsInTheLLMURL(t *testing.T) {
	clearEnv(t)
	for in, want := range map[string]string{
		"https://alice:s3cr3t@gpu1:8443/v1": "https://alice:" + Redacted + "@gpu1:8443/v1",
		"http://t0k3n@gpu2:8080/v1":         "http://" + Redacted + "@gpu2:8080/v1",
		"http://alice:s3,cr3t@gpu3/v1":      "http://alice:" + Redacted + "@gpu3/v1", // one URL, not a list
		"http://gpu4:8080/v1":               "http://gpu4:8080/v1",
	} {
		c, err := Load(writeFile(t, "reasoning:\n  llm:\n    url: "+in+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Redacted().YAML()
		if err != nil || strings.Contains(string(out), "cr3t") || strings.Contains(string(out), "t0k3n") ||
			!strings.Contains(string(out), "url: "+want+" # from") {
			t.Errorf("url %s printed (%v):\n%s", in, err, out)
		}
		if c.Reasoning.LLM.URL != in {
			t.Errorf("Redacted modified the original: %q", c.Reasoning.LLM.URL)
		}
	}
	// A URL that fails validation is quoted in the error without its password.
	for body, want := range map[string]string{
		"reasoning:\n  llm:\n    url: ftp://alice:s3cr3t@gpu1/v1\n":   `reasoning.llm.url: "ftp://alice:` + Redacted + `@gpu1/v1" is not allowed`,
		"nats:\n  embedded: false\n  url: foo://bob:s3cr3t@n1:4222\n": `nats.url: "foo://bob:` + Redacted + `@n1:4222" has scheme "foo"`,
		"nats:\n  embedded: false\n  url: nats://n0:4222,t0k3n@n2\n":  `nats.url: "` + Redacted + `@n2" is not a NATS URL`,
	} {
		_, err := Load(writeFile(t, body))
		mustFail(t, err, want)
		if err != nil && (strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "t0k3n")) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
