package reasoning

import (
	"context"
	"sync"
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

// batcher gathers concurrent requests into batches of at most maxBatch, waiting at most maxWait
// after the first request of a batch for others to join (with maxWait 0 it takes only those
// already queued), and hands each batch to run, one batch at a time. run sets out or err of every
// job it is given.
type batcher[In, Out any] struct {
	queue    chan *job[In, Out]
	maxBatch int
	maxWait  time.Duration
	run      func([]*job[In, Out])

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

// do runs ins through the batches and returns their outputs and per-input errors; err is set
// when the batcher is closed or ctx ends before all are done.
func (b *batcher[In, Out]) do(ctx context.Context, ins []In) ([]Out, []error, error) {
	jobs := make([]*job[In, Out], len(ins))
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, nil, ErrClosed
	}
	for i, in := range ins {
		j := &job[In, Out]{ctx: ctx, in: in, done: make(chan struct{})}
		jobs[i] = j
		select {
		case b.queue <- j:
		case <-ctx.Done():
			b.mu.RUnlock()
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
		if b.maxWait > 0 {
			timer.Reset(b.maxWait)
		}
	collect:
		for len(batch) < b.maxBatch {
			if b.maxWait <= 0 { // take only what is already waiting
				select {
				case j, ok := <-b.queue:
					if !ok {
						break collect
					}
					batch = append(batch, j)
					continue
				default:
					break collect
				}
			}
			select {
			case j, ok := <-b.queue:
				if !ok {
					break collect
				}
				batch = append(batch, j)
			case <-timer.C:
				break collect
			}
		}
		if b.maxWait > 0 && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
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
