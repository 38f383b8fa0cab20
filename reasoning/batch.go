package reasoning

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// job is one request waiting in a micro-batch.
type job[In, Out any] struct {
	ctx  context.Context
	in   In
	out  Out
	err  error
	done chan struct{}
}

// batcher gathers concurrent requests into batches of at most maxBatch and hands each batch to
// run, one batch at a time; run sets out or err of every job it is given. After the first request
// of a batch it takes those already queued, and waits (at most maxWait after the first) for more
// only while other callers have announced requests they are still preparing (expect): a lone
// caller is never delayed.
type batcher[In, Out any] struct {
	queue    chan *job[In, Out]
	maxBatch int
	maxWait  time.Duration
	run      func([]*job[In, Out])
	arriving atomic.Int64 // requests announced by callers and not yet queued

	mu      sync.RWMutex // held for reading while enqueuing, for writing to close the queue
	closed  bool
	stopped chan struct{}
}

func newBatcher[In, Out any](maxBatch int, maxWait time.Duration, run func([]*job[In, Out])) *batcher[In, Out] {
	b := &batcher[In, Out]{
		queue:    make(chan *job[In, Out], 4*maxBatch),
		maxBatch: maxBatch,
		maxWait:  maxWait,
		run:      run,
		stopped:  make(chan struct{}),
	}
	go b.loop()
	return b
}

// expect announces n requests a caller is preparing (negative: withdraws them); do counts each
// request it queues against the announcement.
func (b *batcher[In, Out]) expect(n int) { b.arriving.Add(int64(n)) }

// do runs ins through the batches and returns their outputs and per-input errors; err is set
// when the batcher is closed or ctx ends before all are done.
func (b *batcher[In, Out]) do(ctx context.Context, ins []In) ([]Out, []error, error) {
	jobs := make([]*job[In, Out], len(ins))
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		b.expect(-len(ins))
		return nil, nil, ErrClosed
	}
	for i, in := range ins {
		j := &job[In, Out]{ctx: ctx, in: in, done: make(chan struct{})}
		jobs[i] = j
		// Counted as arrived before the batcher can receive it: counted after the send, a batch
		// started by this very job could still see it as coming and wait maxWait for it.
		b.arriving.Add(-1)
		select {
		case b.queue <- j:
		case <-ctx.Done():
			b.mu.RUnlock()
			b.expect(-(len(ins) - i - 1))
			return nil, nil, ctx.Err()
		}
	}
	b.mu.RUnlock()
	outs := make([]Out, len(ins))
	errs := make([]error, len(ins))
	for i, j := range jobs {
		select {
		case <-j.done:
			outs[i], errs[i] = j.out, j.err
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	return outs, errs, nil
}

func (b *batcher[In, Out]) loop() {
	defer close(b.stopped)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		first, ok := <-b.queue
		if !ok {
			return
		}
		batch := []*job[In, Out]{first}
		timerOn := false
	collect:
		for len(batch) < b.maxBatch {
			select { // what is already queued
			case j, ok := <-b.queue:
				if !ok {
					break collect
				}
				batch = append(batch, j)
				continue
			default:
			}
			if b.maxWait <= 0 || b.arriving.Load() <= 0 {
				break // nobody else is coming
			}
			if !timerOn {
				timer.Reset(b.maxWait)
				timerOn = true
			}
			select {
			case j, ok := <-b.queue:
				if !ok {
					break collect
				}
				batch = append(batch, j)
			case <-timer.C:
				timerOn = false
				break collect
			}
		}
		if timerOn {
			timer.Stop() // Go 1.23+ timers: no stale value is received after Stop
		}
		live := batch[:0:0]
		for _, j := range batch {
			if err := j.ctx.Err(); err != nil {
				j.err = err
				close(j.done)
				continue
			}
			live = append(live, j)
		}
		if len(live) > 0 {
			b.run(live)
			for _, j := range live {
				close(j.done)
			}
		}
	}
}

// close stops accepting requests, finishes those queued and returns when the last batch is done.
func (b *batcher[In, Out]) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	<-b.stopped
}

// predictBatch is PredictBatch of a model served by batcher b: each input is prepared in the
// caller's goroutines (in parallel; an input that fails there fails alone), the prepared ones are
// run in micro-batches with concurrent callers', and each result is finished in parallel.
func predictBatch[P, S any](ctx context.Context, b *batcher[P, S], inputs []Input,
	prepare func(Input) (P, error), finish func(P, S) (Result, error)) ([]Result, []error, error) {
	results := make([]Result, len(inputs))
	errs := make([]error, len(inputs))
	all := make([]P, len(inputs))
	b.expect(len(inputs)) // a batch being formed waits for these while they are prepared
	parallel(len(inputs), func(i int) { all[i], errs[i] = prepare(inputs[i]) })
	preps := make([]P, 0, len(inputs))
	where := make([]int, 0, len(inputs))
	for i := range inputs {
		if errs[i] == nil {
			preps = append(preps, all[i])
			where = append(where, i)
		}
	}
	b.expect(len(preps) - len(inputs))
	if len(preps) == 0 {
		return results, errs, nil
	}
	outs, berrs, err := b.do(ctx, preps)
	if err != nil {
		return nil, nil, err
	}
	parallel(len(where), func(k int) {
		i := where[k]
		if berrs[k] != nil {
			errs[i] = berrs[k]
			return
		}
		results[i], errs[i] = finish(preps[k], outs[k])
	})
	return results, errs, nil
}
