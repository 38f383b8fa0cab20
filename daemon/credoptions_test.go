package daemon

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentio-health/sentio/config"
)

// CredOptions takes the first credentials set, in the order creds, nkey, user, token, and a
// seed file that does not load is an error naming the file.
func TestCredOptions(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.nk")
	for _, tc := range []struct {
		name string
		n    config.NATS
		opts int
		err  string
	}{
		{"none", config.NATS{}, 0, ""},
		{"creds before nkey", config.NATS{Creds: "sentio.creds", NKey: missing}, 1, ""},
		{"nkey", config.NATS{NKey: missing, User: "u"}, 0, missing},
		{"user", config.NATS{User: "u", Password: "p", Token: "t"}, 1, ""},
		{"token", config.NATS{Token: "t"}, 1, ""},
	} {
		opts, err := CredOptions(tc.n)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v; want one naming %s", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || len(opts) != tc.opts {
			t.Errorf("%s: %d options, %v; want %d", tc.name, len(opts), err, tc.opts)
		}
	}
}
