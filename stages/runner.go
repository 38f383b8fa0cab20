package stages

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/sentio-health/sentio/wire"
)

// Stage is one step of the pipeline. Process handles one item on worker w (0 ≤ w < Workers) and
// emits zero or more items downstream; emitted items take their own references on their Deps,
// and the runner releases the processed item's references when Process returns (recording the
// error, if any). A Stage is called concurrently from its workers, except that a keyed stage sees
// all items of one key on the same worker, in order.
type Stage[T any] interface {
	Name() string
	Process(ctx context.Context, w int, it Item[T], out Emitter[T]) error
}

// Ticker is a Stage with periodic work (idle flushes): Tick runs on each worker between items.
type Ticker[T any] interface {
	Tick(ctx context.Context, w int, now time.Time, out Emitter[T])
}

// Closer is a Stage holding per-worker state: Close runs once per worker when its input has
// ended, to flush or release (with ErrAbandoned) what the worker still holds.
type Closer[T any] interface {
	Close(ctx context.Context, w int, out Emitter[T])
}

// Emitter sends an item to the next stage, blocking while its queue is full.
type Emitter[T any] func(Item[T])

// Spec configures how a Stage runs.
type Spec[T any] struct {
	Stage Stage[T]
	// Workers is the number of goroutines running the stage (default 1).
	Workers int
	// Queue is the capacity of the queue in front of the stage (default 1).
	Queue int
	// Keyed routes items by Item.Key so that one key always meets the same worker, in order.
	Keyed bool
	// Retries is how often a transient failure is retried in place before the item fails.
	Retries int
	// TickEvery is the period of Ticker calls (default 1 s).
	TickEvery time.Duration
	// OnError, when set, is told about an item the stage failed for good (after its retries):
	// for bookkeeping outside the Txns, such as counting a call's unfinished utterances.
	OnError func(it Item[T], err error)
}

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("stages: pipeline closed")

// Pipeline runs a chain of stages.
type Pipeline[T any] struct {
	specs   []Spec[T]
	queues  [][]chan Item[T] // per stage: one shared channel, or one per worker when keyed
	metrics *Metrics
	log     *slog.Logger

	hard       context.Context // cancelled only to force a stop
	cancelHard context.CancelFunc

	submitMu sync.RWMutex
	closed   bool
	wgs      []*sync.WaitGroup
	done     chan struct{}
}

// New builds a pipeline from stage specs, in order; Start runs it.
func New[T any](m *Metrics, specs ...Spec[T]) *Pipeline[T] {
	p := &Pipeline[T]{specs: specs, metrics: m, log: slog.New(slog.DiscardHandler), done: make(chan struct{})}
	p.hard, p.cancelHard = context.WithCancel(context.Background())
	for i := range p.specs {
		s := &p.specs[i]
		if s.Workers <= 0 {
			s.Workers = 1
		}
		if s.Queue <= 0 {
			s.Queue = 1
		}
		if s.TickEvery <= 0 {
			s.TickEvery = time.Second
		}
		n := 1
		if s.Keyed {
			n = s.Workers
		}
		qs := make([]chan Item[T], n)
		for j := range qs {
			qs[j] = make(chan Item[T], s.Queue)
		}
		p.queues = append(p.queues, qs)
		p.wgs = append(p.wgs, &sync.WaitGroup{})
		m.registerQueue(s.Stage.Name(), func() float64 {
			n := 0
			for _, q := range qs {
				n += len(q)
			}
			return float64(n)
		})
	}
	return p
}

// SetLogger sets where the pipeline logs the panics it recovers (by default nowhere); call it
// before Start.
func (p *Pipeline[T]) SetLogger(log *slog.Logger) {
	if log != nil {
		p.log = log
	}
}

// Names returns the stage names in order.
func (p *Pipeline[T]) Names() []string {
	var n []string
	for _, s := range p.specs {
		n = append(n, s.Stage.Name())
	}
	return n
}

// Start launches the workers of every stage.
func (p *Pipeline[T]) Start() {
	for i := range p.specs {
		for w := 0; w < p.specs[i].Workers; w++ {
			p.wgs[i].Add(1)
			go p.work(i, w)
		}
	}
	// When a stage's workers are all done, its downstream queues close, which ends the next stage.
	go func() {
		for i := range p.specs {
			p.wgs[i].Wait()
			if i+1 < len(p.queues) {
				for _, q := range p.queues[i+1] {
					close(q)
				}
			}
		}
		close(p.done)
	}()
}

// Submit hands an item to the first stage, blocking while its queue is full (backpressure) or
// until ctx ends. On error the caller still owns the item's references.
func (p *Pipeline[T]) Submit(ctx context.Context, it Item[T]) error {
	p.submitMu.RLock()
	defer p.submitMu.RUnlock()
	if p.closed {
		return ErrClosed
	}
	select {
	case p.route(0, it.Key) <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close ends the input: stages finish what is queued, keyed stages Close their workers, and the
// pipeline stops once every stage is done. It does not wait; use Wait.
func (p *Pipeline[T]) Close() {
	p.submitMu.Lock()
	defer p.submitMu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, q := range p.queues[0] {
		close(q)
	}
}

// Wait blocks until every stage has finished after Close. When ctx ends first, it forces the stop:
// running Process calls see a cancelled context and queued items are abandoned (their inputs are
// Naked for redelivery), then it returns ctx.Err().
func (p *Pipeline[T]) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		p.cancelHard()
		<-p.done
		return ctx.Err()
	}
}

func (p *Pipeline[T]) route(stage int, key string) chan Item[T] {
	qs := p.queues[stage]
	if len(qs) == 1 {
		return qs[0]
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return qs[h.Sum32()%uint32(len(qs))]
}

func (p *Pipeline[T]) emitter(stage int) Emitter[T] {
	if stage+1 >= len(p.specs) {
		return func(it Item[T]) {
			panic("stages: the last stage " + p.specs[stage].Stage.Name() + " cannot emit")
		}
	}
	return func(it Item[T]) {
		Retain(it.Deps)
		select {
		case p.route(stage+1, it.Key) <- it:
		case <-p.hard.Done():
			Release(it.Deps, ErrAbandoned)
		}
	}
}

func (p *Pipeline[T]) work(stage, w int) {
	defer p.wgs[stage].Done()
	spec := p.specs[stage]
	name := spec.Stage.Name()
	out := p.emitter(stage)
	in := p.queues[stage][0]
	if spec.Keyed {
		in = p.queues[stage][w]
	}
	ticker, _ := spec.Stage.(Ticker[T])
	var tick <-chan time.Time
	if ticker != nil {
		t := time.NewTicker(spec.TickEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case it, ok := <-in:
			if !ok {
				if c, ok := spec.Stage.(Closer[T]); ok {
					_ = p.protect(name, "Close", w, 0, func() error { c.Close(p.hard, w, out); return nil })
				}
				return
			}
			if p.hard.Err() != nil {
				Release(it.Deps, ErrAbandoned)
				continue
			}
			p.process(spec, name, w, it, out)
		case now := <-tick:
			_ = p.protect(name, "Tick", w, 0, func() error { ticker.Tick(p.hard, w, now, out); return nil })
		}
	}
}

func (p *Pipeline[T]) process(spec Spec[T], name string, w int, it Item[T], out Emitter[T]) {
	if !it.Always && allFailed(it.Deps) {
		// Every input this item serves has failed already: skip the work.
		if spec.OnError != nil {
			spec.OnError(it, it.Deps[0].Failed())
		}
		Release(it.Deps, nil)
		return
	}
	p.metrics.begin(name)
	start := time.Now()
	var err error
	for attempt := 0; ; attempt++ {
		err = p.protect(name, "Process", w, len(it.Deps), func() error { return spec.Stage.Process(p.hard, w, it, out) })
		var rej *Rejection
		if err == nil || errors.As(err, &rej) || isSoft(err) || attempt >= spec.Retries || p.hard.Err() != nil {
			break
		}
		select {
		case <-time.After(time.Duration(100<<(2*attempt)) * time.Millisecond):
		case <-p.hard.Done():
		}
	}
	p.metrics.end(name, time.Since(start), err)
	if err != nil && spec.OnError != nil {
		spec.OnError(it, err)
	}
	if err != nil {
		var rej *Rejection
		switch {
		case errors.As(err, &rej):
			if rej.Stage == "" {
				rej.Stage = name
			}
		case isSoft(err):
		case p.hard.Err() != nil:
			err = ErrAbandoned
		default:
			err = &StageError{Stage: name, Err: err}
		}
	}
	Release(it.Deps, err)
}

// protect runs f, one call of a stage (Process, Tick or Close), and recovers a panic in it: the
// daemon stays up, the panic is one error line (the stack only at debug level) and one count of
// sentio_pipeline_panics_total, and a panic in Process becomes a permanent rejection of that
// item's inputs (internal_error): a panic is a bug, so retrying in place or on redelivery would
// only repeat it. Inputs of other items are not affected. Txns the stage had Retained before
// panicking (a keyed stage's held chunks) stay held until the stage releases them, as its state
// is its own; they are settled at the latest when the process stops.
func (p *Pipeline[T]) protect(stage, call string, w, inputs int, f func() error) (err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		p.metrics.panicked(stage)
		attrs := []any{"stage", stage, "worker", w, "in", call, "panic", fmt.Sprint(v)}
		msg := "stage panicked; the worker goes on"
		if call == "Process" {
			msg = "stage panicked; its item's inputs go to the DLQ as " + wire.ReasonInternal
			attrs = append(attrs, "inputs", inputs)
		}
		if p.log.Enabled(context.Background(), slog.LevelDebug) {
			attrs = append(attrs, "stack", string(debug.Stack()))
		}
		p.log.Error(msg, attrs...)
		err = &Rejection{Code: wire.ReasonInternal, Stage: stage, Err: fmt.Errorf("panic in %s: %v", call, v)}
	}()
	return f()
}

func allFailed(txns []*Txn) bool {
	if len(txns) == 0 {
		return false
	}
	for _, t := range txns {
		if t.Failed() == nil {
			return false
		}
	}
	return true
}
