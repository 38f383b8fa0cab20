package config

import (
	"strings"
	"testing"
)

func TestEmbeddedNATSRejectsClientCredentials(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct{ body, key string }{
		{"nats:\n  user: alice\n  password: pw\n", "nats.user"},
		{"nats:\n  token: t0k\n", "nats.token"},
		{"nats:\n  creds: /etc/sentio/sentio.creds\n", "nats.creds"},
		{"nats:\n  nkey: /etc/sentio/sentio.nk\n", "nats.nkey"},
		{"nats:\n  tls:\n    ca: ca.pem\n", "nats.tls.ca"},
	} {
		_, err := Load(writeFile(t, tc.body))
		mustFail(t, err, tc.key+": is set while nats.embedded is true")
	}
	// With an external server they are what sentio connects with.
	if _, err := Load(writeFile(t, "nats:\n  embedded: false\n  url: nats://n:4222\n  user: alice\n  password: pw\n")); err != nil {
		t.Fatal(err)
	}
	// The embedded listener's certificate and key are honoured.
	if _, err := Load(writeFile(t, "nats:\n  tls:\n    cert: server.pem\n    key: server-key.pem\n    ca: ca.pem\n")); err != nil {
		t.Fatal(err)
	}
}

func TestEmbeddedNATSWithoutAuthListensOnLoopbackOnly(t *testing.T) {
	clearEnv(t)
	for _, listen := range []string{"0.0.0.0:4222", ":4222", "10.1.2.3:4222", "nats.example.org:4222", "[::]:4222"} {
		_, err := Load(writeFile(t, "nats:\n  embedded_auth: false\n  listen: \""+listen+"\"\n"))
		mustFail(t, err, ":3: nats.listen: ", "nats.embedded_auth is false")
	}
	for _, listen := range []string{"127.0.0.1:4222", "localhost:4222", "[::1]:4222", "127.0.0.2:0"} {
		if _, err := Load(writeFile(t, "nats:\n  embedded_auth: false\n  listen: \""+listen+"\"\n")); err != nil {
			t.Errorf("listen %s without auth: %v", listen, err)
		}
	}
	// With authentication (the default) any address is allowed.
	if _, err := Load(writeFile(t, "nats:\n  listen: \"0.0.0.0:4222\"\n")); err != nil {
		t.Fatal(err)
	}
}

func TestRedactedHidesPasswordsInURLs(t *testing.T) {
	for in, want := range map[string]string{
		"nats://alice:s3cr3t@n1:4222":                     "nats://alice:" + Redacted + "@n1:4222",
		"nats://n1:4222, tls://t0k3n@n2:4222":             "nats://n1:4222,tls://" + Redacted + "@n2:4222",
		"nats://n1:4222,nats://n2:4222":                   "nats://n1:4222,nats://n2:4222",
		"bob:s3cr3t@n3:4222":                              Redacted + "@n3:4222",
		"wss://carol:p%40ss@n4:443,nats://dave:x@n5:4222": "wss://carol:" + Redacted + "@n4:443,nats://dave:" + Redacted + "@n5:4222",
	} {
		if got := RedactURLs(in); got != want {
			t.Errorf("RedactURLs(%q) = %q, want %q", in, got, want)
		}
	}
	// sentio config print: Redacted, then YAML.
	clearEnv(t)
	c, err := Load(writeFile(t, "nats:\n  embedded: false\n  url: nats://alice:s3cr3t@n1:4222\n"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Redacted().YAML()
	if err != nil || strings.Contains(string(out), "s3cr3t") || !strings.Contains(string(out), "nats://alice:"+Redacted+"@n1:4222") {
		t.Fatalf("printed (%v):\n%s", err, out)
	}
	if c.NATS.URL != "nats://alice:s3cr3t@n1:4222" {
		t.Error("Redacted modified the original")
	}
}
