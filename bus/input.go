package bus

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
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
	if err := in.bus.PublishDLQ(ctx, in.Msg, in.Meta, code, reason, stage); err != nil {
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

// DLQMsg builds the DLQ entry of a rejected message.
func DLQMsg(names Names, m jetstream.Msg, meta *jetstream.MsgMetadata, code, reason, stage string) *nats.Msg {
	callID := wire.CallID(m.Headers(), m.Subject())
	if wire.ValidCallID(callID) != nil {
		callID = "_invalid"
	}
	out := nats.NewMsg(wire.Subject(names.DLQSubject, callID))
	for k, v := range m.Headers() {
		if k == nats.MsgIdHdr || strings.HasPrefix(k, "Nats-") {
			continue
		}
		out.Header[k] = append([]string(nil), v...)
	}
	out.Header.Set(wire.HeaderReasonCode, code)
	out.Header.Set(wire.HeaderReason, reason)
	if stage != "" {
		out.Header.Set(wire.HeaderStage, stage)
	}
	// The subject as published (the stream stores it with the partition token inserted).
	out.Header.Set(wire.HeaderSubject, wire.Subject(names.AudioSubject, lastToken(m.Subject())))
	if meta != nil {
		out.Header.Set(wire.HeaderDelivered, strconv.FormatUint(meta.NumDelivered, 10))
		out.Header.Set(wire.HeaderStreamSeq, strconv.FormatUint(meta.Sequence.Stream, 10))
		// One DLQ entry per input message, even when the reject is retried.
		out.Header.Set(nats.MsgIdHdr, fmt.Sprintf("dlq-%s-%d", meta.Stream, meta.Sequence.Stream))
	}
	out.Data = m.Data()
	return out
}

func lastToken(subject string) string {
	if i := strings.LastIndexByte(subject, '.'); i >= 0 {
		return subject[i+1:]
	}
	return subject
}
