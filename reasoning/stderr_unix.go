//go:build unix

package reasoning

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// stderrFilter captures what native code writes to file descriptor 2 while it is installed and
// sorts it: lines containing noise are counted and dropped, blank lines are dropped, any other
// line is passed on to the real standard error. Go code that writes to os.Stderr meanwhile is passed on too.
type stderrFilter struct {
	saved   int
	r, w    *os.File
	done    chan struct{}
	mu      sync.Mutex
	dropped int
	first   string
}

// captureStderr redirects file descriptor 2 into a pipe until restore is called. Lines that
// contain noise are dropped; others go to the original standard error.
func captureStderr(noise string) (*stderrFilter, error) {
	saved, err := unix.Dup(2)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		unix.Close(saved)
		return nil, err
	}
	if err := unix.Dup2(int(w.Fd()), 2); err != nil {
		unix.Close(saved)
		r.Close()
		w.Close()
		return nil, err
	}
	f := &stderrFilter{saved: saved, r: r, w: w, done: make(chan struct{})}
	go f.pump(noise)
	return f, nil
}

func (f *stderrFilter) pump(noise string) {
	defer close(f.done)
	sc := bufio.NewScanner(f.r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var pass bytes.Buffer
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue // the noise comes with blank lines between its lines
		}
		if strings.Contains(line, noise) {
			f.mu.Lock()
			if f.dropped == 0 {
				f.first = line
			}
			f.dropped++
			f.mu.Unlock()
			continue
		}
		pass.Reset()
		pass.WriteString(line)
		pass.WriteByte('\n')
		unix.Write(f.saved, pass.Bytes()) //nolint:errcheck // best effort: standard error itself
	}
}

// restore puts the original standard error back and returns how many noise lines were dropped
// and the first of them.
func (f *stderrFilter) restore() (dropped int, first string) {
	unix.Dup2(f.saved, 2) //nolint:errcheck // restoring a descriptor we duplicated ourselves
	f.w.Close()
	<-f.done
	f.r.Close()
	unix.Close(f.saved)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dropped, f.first
}
