package bus

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/stages"
)

// Input adapts a JetStream message to stages.Input.
type Input struct {
	Msg  jetstream.Msg
	Meta *jetstream.MsgMetadata
	bus  *Bus
}

var _ stages.Input = (*Input)(nil)

// Ack acknowledges the message.
func (in *Input) Ack() error { return in.Msg.Ack() }

// Nak asks for redelivery after d (at once when d is 0).
func (in *Input) Nak(d time.Duration) error {
	if d <= 0 {
		return in.Msg.Nak()
	}
	return in.Msg.NakWithDelay(d)
}

// InProgress resets the ack deadline.
func (in *Input) InProgress() error { return in.Msg.InProgress() }

// Delivered is the delivery count.
func (in *Input) Delivered() uint64 {
	if in.Meta == nil {
		return 1
	}
	return in.Meta.NumDelivered
}

// ID identifies the message across its redeliveries (stream and sequence), for stages.Tracker's
// count of failed deliveries.
func (in *Input) ID() string {
	if in.Meta == nil {
		return ""
	}
	return in.Meta.Stream + "/" + strconv.FormatUint(in.Meta.Sequence.Stream, 10)
}

// PublishedAt is when the message was stored in the audio stream (zero when unknown).
func (in *Input) PublishedAt() time.Time {
	if in.Meta == nil {
		return time.Time{}
	}
	return in.Meta.Timestamp
}

// StreamSeq is the message's sequence number in the audio stream.
func (in *Input) StreamSeq() uint64 {
	if in.Meta == nil {
		return 0
	}
	return in.Meta.Sequence.Stream
}

// Reject writes the message to <dlq_subject>.<call_id> with its headers, its data and the reason,
// waits for the PubAck, then terminates it. The message is never terminated (nor acked) without
// its DLQ entry: when the entry cannot be written (after the retries of one attempt, at most half
// the ack wait), the message is Naked with a delay of half the ack wait, so that it comes back and
// is rejected again, until the DLQ takes it (the consumer's deliveries are unlimited, see
// ConsumerConfig); sentio_dlq_publish_failures_total counts each failed attempt.
func (in *Input) Reject(code, reason, stage string) error {
	ctx, cancel := context.WithTimeout(context.Background(), in.bus.dlqAttempt())
	defer cancel()
	if err := in.bus.PublishDLQ(ctx, in.dlqEntry(code, reason, stage)); err != nil {
		retry := in.bus.AckWait() / 2
		if nerr := in.Msg.NakWithDelay(retry); nerr != nil {
			return fmt.Errorf("%w; naking it failed too (it comes back after the ack wait): %v", err, nerr)
		}
		return fmt.Errorf("%w; naked, to be rejected again in %s", err, retry)
	}
	return in.Msg.TermWithReason(code)
}

// dlqAttempt bounds one attempt to write a DLQ entry for an input in flight: half its ack wait, at
// most 15 s.
func (b *Bus) dlqAttempt() time.Duration { return min(15*time.Second, b.AckWait()/2) }

// dlqEntry is the DLQ entry that rejects the message.
func (in *Input) dlqEntry(code, reason, stage string) DLQEntry {
	e := DLQEntry{Subject: in.Msg.Subject(), Header: in.Msg.Headers(), Data: in.Msg.Data(), Code: code, Reason: reason, Stage: stage}
	if in.Meta != nil {
		e.Delivered, e.StreamSeq = in.Meta.NumDelivered, in.Meta.Sequence.Stream
		// One DLQ entry per input message, even when the reject is retried.
		e.MsgID = fmt.Sprintf("dlq-%s-%d", in.Meta.Stream, in.Meta.Sequence.Stream)
	}
	return e
}

func lastToken(subject string) string {
	if i := strings.LastIndexByte(subject, '.'); i >= 0 {
		return subject[i+1:]
	}
	return subject
}
