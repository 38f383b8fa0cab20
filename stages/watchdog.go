package stages

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Watchdog watches calls into code that cannot be cancelled (whisper.cpp, ONNX Runtime). A call
// running past its deadline marks its worker hung: [Watchdog.Hung] returns an error naming it
// (the daemon turns /readyz false and stops feeding the systemd watchdog, so systemd restarts
// sentio), one error line says which stage and worker hung for how long, and
// sentio_pipeline_stage_hung_calls counts it.
//
// The call itself is left alone (nothing can stop it; its worker stays blocked) and so are its
// inputs: a hang says nothing about the input, so it is neither acked nor rejected, and after the
// restart JetStream redelivers it (a delivery that did not fail: not counted toward
// max_deliver). Should the call return after all, the worker is no longer hung and the item goes
// on as usual.
type Watchdog struct {
	log     *slog.Logger
	metrics *Metrics

	mu    sync.Mutex
	calls map[*watchedCall]struct{}
}

type watchedCall struct {
	stage  string
	worker int
	start  time.Time
	limit  time.Duration
	timer  *time.Timer
	hung   bool // guarded by Watchdog.mu
}

// NewWatchdog returns a Watchdog logging on log (nil: nowhere) and counting in m (may be nil).
// A nil *Watchdog watches nothing.
func NewWatchdog(log *slog.Logger, m *Metrics) *Watchdog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watchdog{log: log, metrics: m, calls: map[*watchedCall]struct{}{}}
}

// Begin registers a call by worker w of stage that should return within limit (0 or less: no
// deadline); the call must run end when it returns.
func (wd *Watchdog) Begin(stage string, w int, limit time.Duration) (end func()) {
	if wd == nil || limit <= 0 {
		return func() {}
	}
	c := &watchedCall{stage: stage, worker: w, start: time.Now(), limit: limit}
	wd.mu.Lock()
	wd.calls[c] = struct{}{}
	c.timer = time.AfterFunc(limit, func() { wd.overdue(c) })
	wd.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { wd.end(c) }) }
}

func (wd *Watchdog) overdue(c *watchedCall) {
	wd.mu.Lock()
	if _, live := wd.calls[c]; !live {
		wd.mu.Unlock()
		return
	}
	c.hung = true
	wd.metrics.hungCalls(c.stage, 1)
	wd.mu.Unlock()
	wd.log.Error("model call hung past its deadline: not ready, and the systemd watchdog is no longer fed, so systemd restarts sentio; its input is redelivered then",
		"stage", c.stage, "worker", c.worker, "running", round(time.Since(c.start)).String(), "deadline", c.limit.String())
}

func (wd *Watchdog) end(c *watchedCall) {
	wd.mu.Lock()
	c.timer.Stop()
	delete(wd.calls, c)
	hung := c.hung
	if hung {
		wd.metrics.hungCalls(c.stage, -1)
	}
	wd.mu.Unlock()
	if hung {
		wd.log.Warn("hung model call returned after all", "stage", c.stage, "worker", c.worker,
			"took", round(time.Since(c.start)).String(), "deadline", c.limit.String())
	}
}

// Hung returns an error naming the longest-running call past its deadline, nil when there is
// none. It is cheap (one pass over the calls running now) and safe from any goroutine.
func (wd *Watchdog) Hung() error {
	if wd == nil {
		return nil
	}
	now := time.Now()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	var worst *watchedCall
	n := 0
	for c := range wd.calls {
		if now.Sub(c.start) >= c.limit {
			n++
			if worst == nil || c.start.Before(worst.start) {
				worst = c
			}
		}
	}
	if worst == nil {
		return nil
	}
	more := ""
	if n > 1 {
		more = fmt.Sprintf(" (and %d more)", n-1)
	}
	return fmt.Errorf("%s worker %d hung: a model call has been running for %s, past its deadline of %s%s",
		worst.stage, worst.worker, round(now.Sub(worst.start)), worst.limit, more)
}

func round(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}
