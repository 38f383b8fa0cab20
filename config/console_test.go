package config

import (
	"strings"
	"testing"
)

func TestConsoleBeyondLoopbackNeedsAToken(t *testing.T) {
	clearEnv(t)
	for _, listen := range []string{"0.0.0.0:9464", ":9464", "10.1.2.3:9464", "[::]:9464"} {
		_, err := Load(writeFile(t, "http:\n  listen: \""+listen+"\"\n  console: true\n"))
		mustFail(t, err, "http.console_token: is empty while http.console is on", listen, "SENTIO_HTTP_CONSOLE_TOKEN")
	}
	for _, body := range []string{
		"http:\n  listen: \"127.0.0.1:9464\"\n  console: true\n", // loopback: no token needed
		"http:\n  listen: \"[::1]:9464\"\n  console: true\n",     // loopback
		"http:\n  listen: \"0.0.0.0:9464\"\n",                    // no console
		"http:\n  listen: \"\"\n  console: true\n",               // no listener at all
		"http:\n  listen: \"0.0.0.0:9464\"\n  console: true\n  console_token: 0123456789abcdef0123\n",
	} {
		if _, err := Load(writeFile(t, body)); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
	// The token from the environment, as systemd's EnvironmentFile gives it.
	t.Setenv("SENTIO_HTTP_CONSOLE_TOKEN", "from-the-environment-0123")
	c, err := Load(writeFile(t, "http:\n  listen: \"0.0.0.0:9464\"\n  console: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.ConsoleToken != "from-the-environment-0123" {
		t.Errorf("token %q", c.HTTP.ConsoleToken)
	}
}

func TestConsoleTokenIsNeverPrinted(t *testing.T) {
	clearEnv(t)
	// A token too short is rejected without repeating it.
	_, err := Load(writeFile(t, "http:\n  console: true\n  console_token: sh0rt\n"))
	mustFail(t, err, "http.console_token: is too short or has spaces (allowed: empty, or at least 16 characters")
	if strings.Contains(err.Error(), "sh0rt") {
		t.Errorf("the error repeats the token: %v", err)
	}
	c, err := Load(writeFile(t, "http:\n  console: true\n  console_token: s3cr3t-0123456789abcdef\n"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Redacted().YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cr3t") || !strings.Contains(string(out), "console_token: "+Redacted) {
		t.Errorf("printed configuration:\n%s", out)
	}
}
