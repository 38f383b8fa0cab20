package pipeline

import (
	"sync"
	"time"
)

// streamClock tells a call that went quiet from one whose next chunks wait behind other
// calls' while the daemon is behind (a backlog, a slow ASR that fills the queues and holds the
// input back). Wall time since a call's last chunk overstates its quiet then; stream time does
// not: the storage times of the chunks applied since, plus the time the daemon has had nothing
// to do (no input waiting to be submitted, no chunk being processed).
type streamClock struct {
	mu           sync.Mutex
	latestStored time.Time // the latest storage time of a chunk received
	waiting      int       // inputs waiting to be submitted (the segment stage's queues full)
	busy         int       // chunks being processed
	lastActive   time.Time // when the last of those ended
}

// received notes a chunk stored at stored that a worker starts to process; the returned
// function notes that it is done.
func (c *streamClock) received(stored time.Time) func() {
	c.mu.Lock()
	if stored.After(c.latestStored) {
		c.latestStored = stored
	}
	c.busy++
	c.mu.Unlock()
	return func() { c.mu.Lock(); c.busy--; c.lastActive = time.Now(); c.mu.Unlock() }
}

// submitting notes an input waiting to be submitted; the returned function notes that it was.
func (c *streamClock) submitting() func() {
	c.mu.Lock()
	c.waiting++
	c.mu.Unlock()
	return func() { c.mu.Lock(); c.waiting--; c.lastActive = time.Now(); c.mu.Unlock() }
}

// quietFor is how long a call has had no audio: the time since a worker applied its last chunk
// (seen, stored at stored), at most the stream time since.
func (c *streamClock) quietFor(seen, stored, now time.Time) time.Duration {
	q := now.Sub(seen)
	c.mu.Lock()
	defer c.mu.Unlock()
	if stored.IsZero() || c.latestStored.IsZero() {
		return q
	}
	var idle time.Duration
	if c.waiting == 0 && c.busy == 0 {
		idle = max(0, now.Sub(c.lastActive))
	}
	return min(q, c.latestStored.Sub(stored)+idle)
}
