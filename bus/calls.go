package bus

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// CallsBucket is the KV bucket remembering which recording each stream-mode call id names.
const CallsBucket = "sentio-calls"

// CallRecord identifies the recording a stream-mode call id names: the audio-stream sequence of
// its chunk 0 (Epoch) and of its End chunk (End, 0 while the call runs). Flushes are the chunk
// sequence numbers after which the call was cut for a reason that depends on timing (no audio
// for pipeline.idle_flush, a memory bound): a replay cuts there too, so that its utterances get
// the ids they had.
type CallRecord struct {
	Epoch uint64 `json:"epoch"`
	End   uint64 `json:"end,omitempty"`
	// EndSeq is the chunk sequence number of the End chunk.
	EndSeq  uint64   `json:"end_seq,omitempty"`
	Flushes []uint64 `json:"flushes,omitempty"`
}

// MaxFlushes bounds the flushes a call record keeps (the oldest are dropped).
const MaxFlushes = 256

// Calls returns the bucket of call records, creating it when absent. Records live as long as
// the audio stream keeps audio (nats.audio_max_age, no limit when it is 0): a replay can come
// only from audio the stream still holds, and can come from any of it.
func (b *Bus) Calls(ctx context.Context) (jetstream.KeyValue, error) {
	b.callsMu.Lock()
	defer b.callsMu.Unlock()
	if b.calls != nil {
		return b.calls, nil
	}
	kv, err := retryCreate(ctx, quiet, "bucket "+CallsBucket, func(ctx context.Context) (jetstream.KeyValue, error) {
		return b.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: CallsBucket,
			Description: "the recording each sentio stream-mode call id names", TTL: audioMaxAge(b.cfg),
			Replicas: replicas(b.cfg), Storage: jetstream.FileStorage})
	})
	if err != nil {
		return nil, fmt.Errorf("creating the calls bucket %s: %w", CallsBucket, err)
	}
	b.calls = kv
	return kv, nil
}

// callKey is the KV key of a call id (hex: call ids may hold characters keys may not).
func callKey(callID string) string { return hex.EncodeToString([]byte(callID)) }

// ClaimCall records that the stream whose chunk 0 has audio-stream sequence epoch uses callID
// and returns the call's record: a new one, or the one already there (another recording when
// its Epoch differs).
func (b *Bus) ClaimCall(ctx context.Context, callID string, epoch uint64) (CallRecord, error) {
	kv, err := b.Calls(ctx)
	if err != nil {
		return CallRecord{}, err
	}
	rec := CallRecord{Epoch: epoch}
	data, _ := json.Marshal(rec)
	if _, err := kv.Create(ctx, callKey(callID), data); err == nil {
		return rec, nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return CallRecord{}, fmt.Errorf("claiming call %s: %w", callID, err)
	}
	rec, ok, err := b.LookupCall(ctx, callID)
	if err != nil {
		return CallRecord{}, err
	}
	if !ok {
		return b.ClaimCall(ctx, callID, epoch) // expired in between
	}
	return rec, nil
}

// LookupCall returns callID's record; ok is false when it has none.
func (b *Bus) LookupCall(ctx context.Context, callID string) (CallRecord, bool, error) {
	kv, err := b.Calls(ctx)
	if err != nil {
		return CallRecord{}, false, err
	}
	e, err := kv.Get(ctx, callKey(callID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return CallRecord{}, false, nil
	}
	if err != nil {
		return CallRecord{}, false, fmt.Errorf("reading the record of call %s: %w", callID, err)
	}
	var rec CallRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return CallRecord{}, false, fmt.Errorf("the record of call %s is not valid: %w", callID, err)
	}
	return rec, true, nil
}

// EndCall records the End chunk (its audio-stream sequence end, its chunk sequence endSeq) of
// the recording whose chunk 0 has audio-stream sequence epoch.
func (b *Bus) EndCall(ctx context.Context, callID string, epoch, end, endSeq uint64) error {
	return b.updateCall(ctx, callID, epoch, func(rec *CallRecord) { rec.End, rec.EndSeq = end, endSeq })
}

// RecordFlush records that the recording whose chunk 0 has sequence epoch was cut after chunk seq.
func (b *Bus) RecordFlush(ctx context.Context, callID string, epoch, seq uint64) error {
	return b.updateCall(ctx, callID, epoch, func(rec *CallRecord) {
		rec.Flushes = append(rec.Flushes, seq)
		if len(rec.Flushes) > MaxFlushes {
			rec.Flushes = rec.Flushes[len(rec.Flushes)-MaxFlushes:]
		}
	})
}

// updateCall changes the record of callID's recording epoch (compare-and-set, retried on a
// concurrent change); a record of another recording is left alone.
func (b *Bus) updateCall(ctx context.Context, callID string, epoch uint64, change func(*CallRecord)) error {
	kv, err := b.Calls(ctx)
	if err != nil {
		return err
	}
	for {
		e, err := kv.Get(ctx, callKey(callID))
		if err != nil {
			return fmt.Errorf("updating the record of call %s: %w", callID, err)
		}
		var rec CallRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			return fmt.Errorf("the record of call %s is not valid: %w", callID, err)
		}
		if rec.Epoch != epoch {
			return nil
		}
		change(&rec)
		data, _ := json.Marshal(rec)
		_, err = kv.Update(ctx, callKey(callID), data, e.Revision())
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("updating the record of call %s: %w", callID, err)
		}
	}
}
