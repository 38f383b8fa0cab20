package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Options controls a download.
type Options struct {
	// Dir is the directory the file is saved in (default: the model's Dir).
	Dir string
	// BaseURL replaces the Hugging Face URL prefix (a mirror, or a test server).
	BaseURL string
	// SHA256 overrides the catalog's checksum (lower- or upper-case hex).
	SHA256 string
	// Force downloads again even when a verified file is already present.
	Force bool
	// Progress receives the progress bar (nil: none).
	Progress io.Writer
	// Client is the HTTP client (default: one with a 30 s header timeout).
	Client *http.Client
}

// Result says what Fetch did.
type Result struct {
	// Path is the installed file.
	Path string
	// Downloaded is the number of bytes transferred (0 when the file was already present).
	Downloaded int64
	// Resumed is the number of bytes reused from an earlier partial download.
	Resumed int64
	// AlreadyPresent is true when a verified file was already there.
	AlreadyPresent bool
}

// Fetch downloads m into opt.Dir, verifying size and SHA-256 before it renames the file into
// place. A failed transfer leaves <file>.part for the next call to resume; a file that fails
// verification is deleted.
func Fetch(ctx context.Context, m Model, opt Options) (Result, error) {
	want := strings.ToLower(m.SHA256)
	if opt.SHA256 != "" {
		want = strings.ToLower(opt.SHA256)
	}
	if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size {
		return Result{}, fmt.Errorf("fetch %s: SHA-256 %q is not 64 hex digits", m.Name, want)
	}
	dir := opt.Dir
	if dir == "" {
		dir = m.Dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, fmt.Errorf("fetch %s: %w", m.Name, err)
	}
	final := filepath.Join(dir, m.File)
	res := Result{Path: final}
	if !opt.Force {
		if ok, _ := verifyFile(final, m.Size, want); ok {
			res.AlreadyPresent = true
			return res, nil
		}
	}
	part := final + ".part"
	h := sha256.New()
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return res, fmt.Errorf("fetch %s: %w", m.Name, err)
	}
	defer f.Close()
	// Resume: hash what an earlier attempt left.
	have, err := io.Copy(h, f)
	if err != nil {
		return res, fmt.Errorf("fetch %s: reading %s: %w", m.Name, part, err)
	}
	if m.Size > 0 && have > m.Size {
		have = 0
	}
	if have == 0 {
		h.Reset()
		if err := f.Truncate(0); err != nil {
			return res, err
		}
	}
	client := opt.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: 30 * time.Second}}
	}
	url := m.URL(opt.BaseURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return res, fmt.Errorf("fetch %s: %w", m.Name, err)
	}
	if have > 0 && (m.Size == 0 || have < m.Size) {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	keep := func(err error) error {
		return fmt.Errorf("fetch %s from %s: %w (partial download kept in %s; run the command again to resume)", m.Name, url, err, part)
	}
	if have > 0 && have == m.Size {
		// A complete file is already in .part; only the check and rename are left.
		res.Resumed = have
	} else {
		resp, err := client.Do(req)
		if err != nil {
			return res, keep(err)
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusPartialContent && have > 0:
			if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != have {
				return res, keep(fmt.Errorf("server resumed at %q, want byte %d", resp.Header.Get("Content-Range"), have))
			}
			res.Resumed = have
		case resp.StatusCode == http.StatusOK:
			// No range support (or a fresh download): start over.
			have = 0
			h.Reset()
			if err := f.Truncate(0); err != nil {
				return res, err
			}
		default:
			return res, keep(fmt.Errorf("HTTP %s", resp.Status))
		}
		if _, err := f.Seek(have, io.SeekStart); err != nil {
			return res, err
		}
		total := m.Size
		if total <= 0 && resp.ContentLength > 0 {
			total = have + resp.ContentLength
		}
		w := io.MultiWriter(f, h)
		var bar *progressbar.ProgressBar
		if opt.Progress != nil {
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(opt.Progress),
				progressbar.OptionSetDescription(m.File),
				progressbar.OptionShowBytes(true),
				progressbar.OptionShowTotalBytes(true),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(opt.Progress) }),
			)
			_ = bar.Set64(have)
			w = io.MultiWriter(f, h, bar)
		}
		// Never write more than the expected size: a server that sends more is wrong.
		var body io.Reader = resp.Body
		if m.Size > 0 {
			body = io.LimitReader(resp.Body, m.Size-have+1)
		}
		n, err := io.Copy(w, body)
		res.Downloaded = n
		if err != nil {
			return res, keep(err)
		}
		have += n
		if bar != nil {
			_ = bar.Finish()
		}
	}
	if m.Size > 0 && have != m.Size {
		if have < m.Size {
			return res, keep(fmt.Errorf("transfer ended at %d of %d bytes", have, m.Size))
		}
		f.Close()
		os.Remove(part)
		return res, fmt.Errorf("fetch %s: server sent more than the expected %d bytes; the download was deleted", m.Name, m.Size)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != want {
		f.Close()
		os.Remove(part)
		return res, fmt.Errorf("fetch %s: SHA-256 mismatch: got %s, want %s; the download was deleted", m.Name, got, want)
	}
	if err := f.Sync(); err != nil {
		return res, err
	}
	if err := f.Close(); err != nil {
		return res, err
	}
	if err := os.Rename(part, final); err != nil {
		return res, fmt.Errorf("fetch %s: %w", m.Name, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return res, nil
}

// rangeStart parses the first byte of a Content-Range header ("bytes 100-199/200").
func rangeStart(cr string) (int64, bool) {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(first, 10, 64)
	return n, err == nil
}

// verifyFile reports whether path exists with the given size (when size > 0) and SHA-256.
func verifyFile(path string, size int64, sha string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if size > 0 && fi.Size() != size {
		return false, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == sha, nil
}

// Custom describes a model outside the catalog: any file of ggerganov/whisper.cpp (e.g.
// large-v3-q5_0), saved under its own name, verified against the given SHA-256 (required) and
// size (0 to take the server's).
func Custom(name, sha string, size int64) (Model, error) {
	if sha == "" {
		return Model{}, fmt.Errorf("fetch: %q is not in the catalog; give its SHA-256 with --sha256 (from its Hugging Face page) to fetch it anyway", name)
	}
	m := whisper(name, size, strings.ToLower(sha), "custom")
	m.Revision = "main"
	return m, nil
}
