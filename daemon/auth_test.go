package daemon

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
)

// pki writes a CA, a server certificate for 127.0.0.1 and a client certificate into dir.
type pki struct{ ca, serverCert, serverKey, clientCert, clientKey string }

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sentio test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, ip bool) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		if ip {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		return write(cn+".pem", "CERTIFICATE", der), write(cn+"-key.pem", "EC PRIVATE KEY", kder)
	}
	p := pki{ca: write("ca.pem", "CERTIFICATE", caDER)}
	p.serverCert, p.serverKey = leaf(2, "server", x509.ExtKeyUsageServerAuth, true)
	p.clientCert, p.clientKey = leaf(3, "client", x509.ExtKeyUsageClientAuth, false)
	return p
}

// handshakeLog is a NATS server logger counting the TLS handshakes the server refused.
type handshakeLog struct{ refused atomic.Int32 }

func (l *handshakeLog) Noticef(string, ...any) {}
func (l *handshakeLog) Warnf(string, ...any)   {}
func (l *handshakeLog) Fatalf(string, ...any)  {}
func (l *handshakeLog) Debugf(string, ...any)  {}
func (l *handshakeLog) Tracef(string, ...any)  {}
func (l *handshakeLog) Errorf(format string, v ...any) {
	if strings.Contains(fmt.Sprintf(format, v...), "TLS handshake error") {
		l.refused.Add(1)
	}
}

func TestExternalNATSWithMutualTLS(t *testing.T) {
	p := newPKI(t)
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: p.serverCert, KeyFile: p.serverKey, CaFile: p.ca, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	s := testenv.RunServer(t, &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true, TLS: true, TLSVerify: true, TLSConfig: tc, TLSTimeout: 2})
	var handshakes handshakeLog
	s.SetLoggerV2(&handshakes, false, false, false)
	url := "tls://127.0.0.1:" + strconv.Itoa(s.Addr().(*net.TCPAddr).Port)
	base := []config.Override{{Key: "nats.embedded", Value: "false"}, {Key: "nats.url", Value: url}, {Key: "nats.tls.ca", Value: p.ca}}

	// Without a client certificate the server refuses: sentio keeps retrying and is not ready.
	r := startDaemon(t, testConfig(t, base...))
	eventually(t, 20*time.Second, "the server to refuse sentio's handshake twice (a retry after a refusal)", func() bool {
		return handshakes.refused.Load() >= 2
	})
	if code, body := get(t, r.http+"/readyz"); code != 503 || !strings.Contains(body, "[-]nats") {
		t.Errorf("/readyz without a client certificate = %d %q", code, body)
	}
	if r.logs.has("ready") {
		t.Error("ready without a NATS connection")
	}
	if err := r.stop(t, 10*time.Second); err != nil {
		t.Errorf("stopping while NATS was unreachable: %v", err)
	}

	withCert := append(base, config.Override{Key: "nats.tls.cert", Value: p.clientCert}, config.Override{Key: "nats.tls.key", Value: p.clientKey})
	r = startDaemon(t, testConfig(t, withCert...))
	r.logs.waitFor(t, "ready", 10*time.Second)
	if rec := r.logs.waitFor(t, "nats ready", time.Second); rec["mode"] != "external" {
		t.Errorf("nats ready = %v", rec)
	}
	if err := r.stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestExternalNATSWithNKey(t *testing.T) {
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := user.PublicKey()
	seed, _ := user.Seed()
	seedFile := filepath.Join(t.TempDir(), "sentio.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	s := testenv.RunServer(t, &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true, Nkeys: []*server.NkeyUser{{Nkey: pub}}})
	r := startDaemon(t, testConfig(t,
		config.Override{Key: "nats.embedded", Value: "false"},
		config.Override{Key: "nats.url", Value: s.ClientURL()},
		config.Override{Key: "nats.nkey", Value: seedFile}))
	r.logs.waitFor(t, "ready", 10*time.Second)
	if err := r.stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.logs.dump(), string(seed)) {
		t.Error("the nkey seed appears in the log")
	}
}
