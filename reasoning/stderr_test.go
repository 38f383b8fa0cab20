//go:build unix

package reasoning

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestStderrFilter writes ONNX Runtime-style noise and a real message to file descriptor 2 while
// the filter is installed, and wants only the real message on the (redirected) standard error.
func TestStderrFilter(t *testing.T) {
	file := filepath.Join(t.TempDir(), "stderr")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := unix.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Dup2(int(f.Fd()), 2); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if !restored {
			unix.Dup2(saved, 2)
			unix.Close(saved)
			restored = true
		}
	}
	defer restore()

	filter, err := captureStderr(ortNoise)
	if err != nil {
		restore()
		t.Fatal(err)
	}
	for range 1000 { // more than a pipe buffer holds
		unix.Write(2, []byte("Schema error: Trying to register schema with name Abs (domain:  version: 1) from file ./onnx/defs/math/old.cc line 2747, but it is already registered\n\n"))
	}
	unix.Write(2, []byte("a real problem\n"))
	dropped, first := filter.restore()
	unix.Write(2, []byte("after\n"))
	restore()
	f.Close()

	if dropped != 1000 || first == "" {
		t.Errorf("dropped %d lines (first %q), want 1000", dropped, first)
	}
	got, _ := os.ReadFile(file)
	if string(got) != "a real problem\nafter\n" {
		t.Errorf("standard error got %q", got)
	}
}
