package console

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/wire"
)

// retryEvery is how long a feed waits before it tries again to read a stream it could not.
const retryEvery = 2 * time.Second

// follow reads the stream's messages on filter from since on, with an ordered consumer (ephemeral,
// no acks: it takes nothing from the pipeline's durable consumers), until ctx ends. The consumer
// recreates itself after a gap or a lost connection; when it cannot be created (the stream does
// not exist yet), follow tries again every retryEvery and logs the first failure.
func (c *Console) follow(ctx context.Context, js jetstream.JetStream, stream, filter string, headersOnly bool, handle func(jetstream.Msg)) {
	since := time.Now().Add(-History)
	logged := false
	for ctx.Err() == nil {
		cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{filter},
			DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
			OptStartTime:   &since,
			HeadersOnly:    headersOnly,
		})
		if err == nil {
			var cc jetstream.ConsumeContext
			if cc, err = cons.Consume(handle); err == nil {
				c.log.Info("console following", "stream", stream, "subjects", filter)
				<-ctx.Done()
				cc.Stop()
				return
			}
		}
		if !logged && ctx.Err() == nil {
			c.log.Warn("console cannot read a stream yet; retrying", "stream", stream, "err", err, "every", retryEvery.String())
			logged = true
		}
		select {
		case <-ctx.Done():
		case <-time.After(retryEvery):
		}
	}
}

// storedAt is when JetStream stored m (now when the metadata cannot be read).
func storedAt(m jetstream.Msg) time.Time {
	if md, err := m.Metadata(); err == nil {
		return md.Timestamp
	}
	return time.Now()
}

// onResult takes a result or a summary from the results stream. A message that is neither is
// logged (without its content: it may hold a transcript) and skipped.
func (c *Console) onResult(m jetstream.Msg) {
	at := storedAt(m)
	var probe struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(m.Data(), &probe); err != nil {
		c.log.Warn("console skipped a message on the results stream that is not JSON", "subject", m.Subject(), "err", err)
		return
	}
	if probe.Kind == "summary" {
		var s wire.Summary
		if err := json.Unmarshal(m.Data(), &s); err != nil || s.CallID == "" {
			c.log.Warn("console skipped a summary it cannot read", "subject", m.Subject(), "err", err)
			return
		}
		c.hub.summary(&s, at)
		return
	}
	var r wire.Result
	if err := json.Unmarshal(m.Data(), &r); err != nil || r.CallID == "" || r.UtteranceID == "" {
		c.log.Warn("console skipped a result it cannot read (no call_id or utterance_id)", "subject", m.Subject(), "err", err)
		return
	}
	c.hub.result(&r, at)
}

// onDLQ takes a reject from the DLQ stream (headers only: its data is the rejected audio).
func (c *Console) onDLQ(m jetstream.Msg) {
	h := m.Headers()
	e := DLQEntry{
		Time:      storedAt(m),
		CallID:    lastToken(m.Subject()),
		Code:      h.Get(wire.HeaderReasonCode),
		Reason:    h.Get(wire.HeaderReason),
		Stage:     h.Get(wire.HeaderStage),
		Subject:   h.Get(wire.HeaderSubject),
		Delivered: h.Get(wire.HeaderDelivered),
		Missing:   h.Get(wire.HeaderMissing),
	}
	if md, err := m.Metadata(); err == nil {
		e.Seq = md.Sequence.Stream
	}
	c.hub.dlq(e)
}

func lastToken(subject string) string {
	return subject[strings.LastIndexByte(subject, '.')+1:]
}
