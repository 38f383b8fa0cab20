package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Handler takes one input; it blocks while the pipeline is full, which is what stops the consumer
// from fetching more (backpressure). It returns once the input is handed over (not processed).
type Handler func(in *Input)

// Consumer pulls input from the durable consumer and hands it to a Handler.
type Consumer struct {
	bus  *Bus
	cons jetstream.Consumer
	it   jetstream.MessagesContext
	done chan struct{}
	once sync.Once
}

// Consume starts pulling at most buffer messages ahead of the handler.
func (b *Bus) Consume(cons jetstream.Consumer, buffer int, h Handler, opts ...jetstream.PullMessagesOpt) (*Consumer, error) {
	if buffer < 1 {
		buffer = 1
	}
	it, err := cons.Messages(append([]jetstream.PullMessagesOpt{jetstream.PullMaxMessages(buffer)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("consuming %s: %w", cons.CachedInfo().Name, err)
	}
	c := &Consumer{bus: b, cons: cons, it: it, done: make(chan struct{})}
	go c.loop(h)
	return c, nil
}

func (c *Consumer) loop(h Handler) {
	defer close(c.done)
	for {
		msg, err := c.it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			c.bus.log.Warn("consumer error; continuing", "err", err)
			time.Sleep(100 * time.Millisecond) // do not spin on a persistent error
			continue
		}
		meta, err := msg.Metadata()
		if err != nil {
			c.bus.log.Warn("message without JetStream metadata; ignoring", "subject", msg.Subject(), "err", err)
			continue
		}
		h(&Input{Msg: msg, Meta: meta, bus: c.bus})
	}
}

// Drain stops pulling: messages already buffered are still handed to the Handler, then it returns
// (or when ctx ends).
func (c *Consumer) Drain(ctx context.Context) error {
	c.once.Do(c.it.Drain)
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		c.it.Stop()
		return ctx.Err()
	}
}

// Stop stops pulling at once; buffered messages are left for redelivery.
func (c *Consumer) Stop() {
	c.once.Do(c.it.Stop)
	<-c.done
}
