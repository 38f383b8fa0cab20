package daemon

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// gate is a component whose readiness the test controls.
type gate struct {
	name  string
	ready atomic.Bool
	env   *Env
}

var _ Component = (*gate)(nil)

func (g *gate) Name() string { return g.name }
func (g *gate) Start(_ context.Context, env *Env) error {
	g.env = env
	return nil
}
func (g *gate) Ready() error {
	if g.ready.Load() {
		return nil
	}
	return errors.New("loading")
}
func (g *gate) Drain(context.Context) error { return nil }

// worker is a real NATS component: each message on "work" is a job lasting the number of
// milliseconds in its payload; when it finishes, the worker publishes "done" on
// "done.<payload>". Drain stops taking jobs and waits for the running ones.
type worker struct {
	env      *Env
	sub      *nats.Subscription
	inflight sync.WaitGroup
	finished atomic.Int64
}

var _ Component = (*worker)(nil)

func (w *worker) Name() string { return "worker" }

func (w *worker) Start(_ context.Context, env *Env) error {
	w.env = env
	sub, err := env.NATS.Subscribe("work", func(m *nats.Msg) {
		ms, err := strconv.Atoi(string(m.Data))
		if err != nil {
			env.Logger.Error("bad job", "err", err)
			return
		}
		w.inflight.Add(1)
		go func() {
			defer w.inflight.Done()
			env.Logger.Info("job started", "ms", ms)
			time.Sleep(time.Duration(ms) * time.Millisecond)
			if err := env.NATS.Publish("done."+string(m.Data), []byte("done")); err != nil {
				env.Logger.Error("publishing result", "err", err)
				return
			}
			_ = env.NATS.Flush()
			w.finished.Add(1)
			env.Logger.Info("job finished", "ms", ms)
		}()
	})
	if err != nil {
		return err
	}
	w.sub = sub
	return env.NATS.Flush()
}

func (w *worker) Ready() error {
	if w.sub == nil || !w.sub.IsValid() {
		return errors.New("not subscribed")
	}
	return nil
}

func (w *worker) Drain(ctx context.Context) error {
	if err := w.sub.Unsubscribe(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { w.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
