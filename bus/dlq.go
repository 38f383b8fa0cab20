package bus

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/sentio-health/sentio/wire"
)

// DLQEntry is one entry of the DLQ: the rejection of an input (Input.Reject), or a notice that
// rejects no input (a sequence gap: the missing chunks never came), written with Notice.
type DLQEntry struct {
	// Subject and Header are the input's subject, as the audio stream stores it, and headers;
	// the entry goes to <dlq_subject>.<call_id> (the call id they name, _invalid when it is not
	// one) and carries every header but the Nats-* ones.
	Subject string
	Header  nats.Header
	// Data is the rejected input's data; a notice has none.
	Data []byte
	// Code (wire.Reason*), Reason and Stage say why (Stage is left out when empty).
	Code, Reason, Stage string
	// Extra are further headers (wire.HeaderMissing for a sequence gap).
	Extra map[string]string
	// MsgID de-duplicates the entry, so that a retried rejection or notice is written once;
	// none when empty.
	MsgID string
	// Delivered and StreamSeq are the input's delivery count and its sequence in the audio
	// stream, left out when 0 (unknown, or a notice).
	Delivered, StreamSeq uint64
}

// Msg builds the message of the entry.
func (e DLQEntry) Msg(names Names) *nats.Msg {
	callID := wire.CallID(e.Subject)
	if wire.ValidCallID(callID) != nil {
		callID = "_invalid"
	}
	out := nats.NewMsg(wire.Subject(names.DLQSubject, callID))
	for k, v := range e.Header {
		if !strings.HasPrefix(k, "Nats-") { // nats.MsgIdHdr among them
			out.Header[k] = append([]string(nil), v...)
		}
	}
	out.Header.Set(wire.HeaderReasonCode, e.Code)
	out.Header.Set(wire.HeaderReason, e.Reason)
	if e.Stage != "" {
		out.Header.Set(wire.HeaderStage, e.Stage)
	}
	// The subject as published (the stream stores it with the partition token inserted).
	out.Header.Set(wire.HeaderSubject, wire.Subject(names.AudioSubject, lastToken(e.Subject)))
	if e.Delivered != 0 {
		out.Header.Set(wire.HeaderDelivered, strconv.FormatUint(e.Delivered, 10))
	}
	if e.StreamSeq != 0 {
		out.Header.Set(wire.HeaderStreamSeq, strconv.FormatUint(e.StreamSeq, 10))
	}
	for k, v := range e.Extra {
		out.Header.Set(k, v)
	}
	if e.MsgID != "" {
		out.Header.Set(nats.MsgIdHdr, e.MsgID)
	}
	out.Data = e.Data
	return out
}

// PublishDLQ writes the entry rejecting an input to the DLQ and waits for the PubAck.
func (b *Bus) PublishDLQ(ctx context.Context, e DLQEntry) error {
	out, err := b.writeDLQ(ctx, e)
	if err != nil {
		return err
	}
	b.log.Warn("input rejected to the DLQ", "call_id", wire.CallID(e.Subject),
		"reason_code", e.Code, "reason", e.Reason, "stage", e.Stage, "subject", out.Subject)
	return nil
}

// Notice writes an entry that rejects no input (a sequence gap) to the DLQ and waits for the
// PubAck.
func (b *Bus) Notice(ctx context.Context, e DLQEntry) error {
	if _, err := b.writeDLQ(ctx, e); err != nil {
		return err
	}
	b.log.Warn("DLQ notice", "call_id", wire.CallID(e.Subject), "reason_code", e.Code, "reason", e.Reason)
	return nil
}

func (b *Bus) writeDLQ(ctx context.Context, e DLQEntry) (*nats.Msg, error) {
	out := e.Msg(b.Names)
	if err := b.publishMsg(ctx, out); err != nil {
		b.dlqFailures.Inc()
		return nil, fmt.Errorf("writing the DLQ entry: %w", err)
	}
	b.dlqEntries.WithLabelValues(e.Code).Inc()
	return out, nil
}
