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
