package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sentio-health/sentio/internal/testenv"
)

// testModel returns a model of random content and the content.
func testModel(n int) (Model, []byte) {
	data := make([]byte, n)
	rand.New(rand.NewSource(1)).Read(data)
	sum := sha256.Sum256(data)
	return Model{Name: "test", Remote: "ggml-test.bin", File: "ggml-test.bin", Size: int64(n), SHA256: hex.EncodeToString(sum[:])}, data
}

// server serves data at /ggml-test.bin with range support; cut > 0 makes the first request
// stop after cut bytes. It counts requests and records Range headers.
type server struct {
	data    []byte
	cut     int
	noRange bool
	reqs    atomic.Int32
	ranges  []string
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.reqs.Add(1)
	if r.URL.Path != "/ggml-test.bin" {
		http.NotFound(w, r)
		return
	}
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	if s.noRange {
		r.Header.Del("Range")
	}
	if n == 1 && s.cut > 0 {
		w.Header().Set("Content-Length", itoa(len(s.data)))
		w.WriteHeader(http.StatusOK)
		w.Write(s.data[:s.cut])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
	http.ServeContent(w, r, "ggml-test.bin", time.Time{}, bytes.NewReader(s.data))
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestFetchVerifiesAndInstalls(t *testing.T) {
	m, data := testModel(300_000)
	s := &server{data: data}
	ts := httptest.NewServer(s)
	defer ts.Close()
	dir := t.TempDir()
	var progress bytes.Buffer
	res, err := Fetch(context.Background(), m, Options{Dir: dir, BaseURL: ts.URL, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "ggml-test.bin"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("installed file differs (%v)", err)
	}
	if res.Downloaded != int64(len(data)) || res.AlreadyPresent {
		t.Errorf("result %+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "ggml-test.bin.part")); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind")
	}
	if !strings.Contains(progress.String(), "ggml-test.bin") || !strings.Contains(progress.String(), "100%") {
		t.Errorf("no progress bar: %q", progress.String())
	}
	// A second fetch finds the verified file and does not download.
	res, err = Fetch(context.Background(), m, Options{Dir: dir, BaseURL: ts.URL})
	if err != nil || !res.AlreadyPresent || s.reqs.Load() != 1 {
		t.Errorf("second fetch: %+v, %v, %d requests", res, err, s.reqs.Load())
	}
}

func TestFetchResumesAfterADroppedConnection(t *testing.T) {
	m, data := testModel(500_000)
	s := &server{data: data, cut: 123_456}
	ts := httptest.NewServer(s)
	defer ts.Close()
	dir := t.TempDir()
	_, err := Fetch(context.Background(), m, Options{Dir: dir, BaseURL: ts.URL})
	if err == nil || !strings.Contains(err.Error(), "partial download kept") {
		t.Fatalf("first attempt: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ggml-test.bin")); !os.IsNotExist(err) {
		t.Fatal("a partial file was installed")
	}
	fi, err := os.Stat(filepath.Join(dir, "ggml-test.bin.part"))
	if err != nil || fi.Size() != 123_456 {
		t.Fatalf("partial file: %v, %v", fi, err)
	}
	res, err := Fetch(context.Background(), m, Options{Dir: dir, BaseURL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 123_456 || res.Downloaded != int64(len(data))-123_456 {
		t.Errorf("result %+v", res)
	}
	if s.ranges[1] != "bytes=123456-" {
		t.Errorf("second request Range %q", s.ranges[1])
	}
	got, _ := os.ReadFile(filepath.Join(dir, "ggml-test.bin"))
	if !bytes.Equal(got, data) {
		t.Fatal("resumed file differs")
	}
}

func TestFetchRestartsWithoutRangeSupport(t *testing.T) {
	m, data := testModel(200_000)
	s := &server{data: data, cut: 50_000, noRange: true}
	ts := httptest.NewServer(s)
	defer ts.Close()
	dir := t.TempDir()
	if _, err := Fetch(context.Background(), m, Options{Dir: dir, BaseURL: ts.URL}); err == nil {
		t.Fatal("cut transfer succeeded")
	}
	res, err := Fetch(context.Background(), m, Options{Dir: dir, BaseURL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 0 || res.Downloaded != int64(len(data)) {
		t.Errorf("result %+v", res)
	}
}

func TestFetchRejectsABadChecksum(t *testing.T) {
	m, data := testModel(100_000)
	data[500] ^= 1 // the server's copy is corrupt
	ts := httptest.NewServer(&server{data: data})
	defer ts.Close()
	dir := t.TempDir()
	_, err := Fetch(context.Background(), m, Options{Dir: dir, BaseURL: ts.URL})
	if err == nil || !strings.Contains(err.Error(), "SHA-256 mismatch") {
		t.Fatalf("error %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("files left after a failed verification: %v", entries)
	}
}

func TestFetchRejectsWrongSizeAndHTTPErrors(t *testing.T) {
	m, data := testModel(100_000)
	ts := httptest.NewServer(&server{data: data})
	defer ts.Close()
	big := m
	big.Size = 50_000 // the server sends more than expected
	if _, err := Fetch(context.Background(), big, Options{Dir: t.TempDir(), BaseURL: ts.URL}); err == nil || !strings.Contains(err.Error(), "more than the expected") {
		t.Errorf("oversize: %v", err)
	}
	missing := m
	missing.Remote = "nope.bin"
	if _, err := Fetch(context.Background(), missing, Options{Dir: t.TempDir(), BaseURL: ts.URL}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
	if _, err := Fetch(context.Background(), m, Options{Dir: t.TempDir(), BaseURL: ts.URL, SHA256: "abc"}); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Errorf("bad checksum flag: %v", err)
	}
}

func TestFetchStopsOnCancel(t *testing.T) {
	m, data := testModel(1_000_000)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", itoa(len(data)))
		w.Write(data[:1000])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	dir := t.TempDir()
	_, err := Fetch(ctx, m, Options{Dir: dir, BaseURL: ts.URL})
	if err == nil || !strings.Contains(err.Error(), "partial download kept") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ggml-test.bin")); !os.IsNotExist(err) {
		t.Fatal("an incomplete file was installed")
	}
}

func TestCatalog(t *testing.T) {
	for _, name := range []string{"tiny", "tiny.en", "base", "base.en", "small", "medium", "large-v3", "large-v3-turbo", "silero-vad", "vad"} {
		m, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.SHA256) != 64 || m.Size <= 0 {
			t.Errorf("%s: checksum %q, size %d", name, m.SHA256, m.Size)
		}
		if !strings.HasPrefix(m.URL(""), "https://huggingface.co/") || !strings.HasSuffix(m.URL(""), "/"+m.Remote) {
			t.Errorf("%s: URL %s", name, m.URL(""))
		}
	}
	if _, err := Lookup("huge"); err == nil || !strings.Contains(err.Error(), "known: base") {
		t.Errorf("unknown model: %v", err)
	}
}

// TestSileroChecksumMatchesTheSharedModel checks the catalog entry against the real file.
func TestSileroChecksumMatchesTheSharedModel(t *testing.T) {
	m, _ := Lookup("silero-vad")
	ok, err := verifyFile(testenv.Shared(t, "data/vad/silero-v6.2.0-ggml.bin"), m.Size, m.SHA256)
	if err != nil || !ok {
		t.Fatalf("the shared Silero model does not match the catalog entry (%v)", err)
	}
}
