package bus

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/config"
)

// ObjectBucket is the NATS Object Store bucket holding clips too large for one message.
const ObjectBucket = "sentio-audio"

// Partitions is the number of partitions calls are spread over. The audio stream maps
// <audio_subject>.<call_id> to <audio_subject>.<partition>.<call_id> (partition(n) of the call id),
// and each partition has its own durable consumer, pinned to one instance at a time: a call's
// chunks are always processed by one instance, in order (per-call affinity), and several
// instances share the partitions (see Group).
const Partitions = 8

// PartitionOf is the partition the audio stream's subject transform partition(Partitions,1)
// gives a call: FNV-1a (32-bit) of the call id modulo Partitions, as nats-server computes it.
func PartitionOf(callID string) int {
	h := fnv.New32a()
	h.Write([]byte(callID))
	return int(h.Sum32() % Partitions)
}

// Names are the streams, subjects and consumer sentio uses, with defaults filled in.
type Names struct {
	AudioStream, AudioSubject   string
	ResultStream, ResultSubject string
	DLQStream, DLQSubject       string
	// EventSubject is the subject prefix of alert events, kept in the results stream.
	EventSubject string
	Consumer     string
}

// The functions below read a configuration's NATS section. A field left zero (a partial
// configuration, as tests and library callers pass: a loaded one is complete, see
// config.Validate) is config.Defaults' value: defaults are declared once, in config. The
// exceptions are the ages (nats.max_age, nats.audio_max_age, nats.dlq_max_age), whose zero is a
// configured value: no limit.

// NamesOf returns the names in c, config.Defaults' for the empty ones.
func NamesOf(c config.NATS) Names {
	d := config.Defaults().NATS
	return Names{
		AudioStream: cmp.Or(c.AudioStream, d.AudioStream), AudioSubject: cmp.Or(c.AudioSubject, d.AudioSubject),
		ResultStream: cmp.Or(c.ResultStream, d.ResultStream), ResultSubject: cmp.Or(c.ResultSubject, d.ResultSubject),
		DLQStream: cmp.Or(c.DLQStream, d.DLQStream), DLQSubject: cmp.Or(c.DLQSubject, d.DLQSubject),
		EventSubject: cmp.Or(c.EventSubject, d.EventSubject), Consumer: cmp.Or(c.Consumer, d.Consumer),
	}
}

// DuplicateWindow is how long the results stream remembers Nats-Msg-Ids (nats.dedupe_window, at
// most nats.max_age). Replays later than that are checked against the published results (see
// the pipeline's publish stage).
func DuplicateWindow(c config.NATS) time.Duration {
	w := positiveOr(c.DedupeWindow, config.Defaults().NATS.DedupeWindow)
	if c.MaxAge > 0 && w > c.MaxAge {
		w = c.MaxAge
	}
	return w
}

// inputDuplicateWindow is how long the audio and DLQ streams remember Nats-Msg-Ids: JetStream's
// own default, written out so that Setup states it. It has no configuration key: it only drops a
// publisher's or a DLQ write's retry of a message just stored, while the results stream, whose
// duplicates are replays after a crash, has nats.dedupe_window (see DuplicateWindow).
const inputDuplicateWindow = 2 * time.Minute

// ackWait is the consumers' ack wait (nats.ack_wait): how long a message stays with an instance
// that stopped sending InProgress (it died) before it is redelivered.
func ackWait(c config.NATS) time.Duration {
	return positiveOr(c.AckWait, config.Defaults().NATS.AckWait)
}

func maxDeliver(c config.NATS) int {
	return positiveOr(c.MaxDeliver, config.Defaults().NATS.MaxDeliver)
}

// deliveryLimit is how many deliveries a message may have in all before it is rejected
// unprocessed: four times nats.max_deliver, at least max_deliver + 10 (20 by default). Only
// failed deliveries count toward max_deliver (stages.Tracker); the others, cut short because the
// process crashed, was killed or stopped with the message in flight, count only toward this
// limit, which stops an input that crashes the process each time it is processed. An innocent
// input in flight would need as many crashes in a row to reach it.
func deliveryLimit(c config.NATS) int {
	return max(4*maxDeliver(c), maxDeliver(c)+10)
}

func maxAckPending(c config.NATS) int {
	return positiveOr(c.MaxAckPending, config.Defaults().NATS.MaxAckPending)
}

func replicas(c config.NATS) int { return positiveOr(c.Replicas, config.Defaults().NATS.Replicas) }

// audioMaxAge is nats.audio_max_age: how long the audio stream, the object store of large clips
// and the calls bucket keep what they hold. Zero is no limit for all three, as config documents
// it: unlike the fields above, zero is a value a loaded configuration may have, so it cannot
// stand for "unset" here (nats.max_age is read the same way).
func audioMaxAge(c config.NATS) time.Duration { return c.AudioMaxAge }

// dlqMaxAge is nats.dlq_max_age: how long the DLQ stream keeps its entries, which carry the
// rejected inputs' audio. Zero is no limit, as for audioMaxAge.
func dlqMaxAge(c config.NATS) time.Duration { return c.DLQMaxAge }

// maxBytes is nats.max_bytes; -1 (the default) is no limit.
func maxBytes(c config.NATS) int64 {
	if c.MaxBytes != 0 {
		return c.MaxBytes
	}
	return config.Defaults().NATS.MaxBytes
}

// positiveOr is v when it is positive, else def.
func positiveOr[T int | int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// quiet is the logger of the retries in Setup and ObjectStore, which have none: their errors are
// returned once the retries are exhausted.
var quiet = slog.New(slog.DiscardHandler)

// Setup creates or updates the three streams and the partitions' durable consumers; running it
// again (from another instance, or after a restart) changes nothing.
func Setup(ctx context.Context, js jetstream.JetStream, c config.NATS) ([]jetstream.Consumer, error) {
	n := NamesOf(c)
	streams := []jetstream.StreamConfig{
		{Name: n.AudioStream, Subjects: []string{n.AudioSubject + ".*"}, Description: "sentio input audio (clips and stream chunks), partitioned by call",
			SubjectTransform: &jetstream.SubjectTransformConfig{Source: n.AudioSubject + ".*",
				Destination: fmt.Sprintf("%s.{{partition(%d,1)}}.{{wildcard(1)}}", n.AudioSubject, Partitions)}},
		{Name: n.ResultStream, Subjects: []string{n.ResultSubject + ".>", n.EventSubject + ".>"}, Description: "sentio results, call summaries and alert events",
			Duplicates: DuplicateWindow(c)},
		{Name: n.DLQStream, Subjects: []string{n.DLQSubject + ".>"}, Description: "sentio rejected input, with the reason"},
	}
	for i, sc := range streams {
		sc.Retention = jetstream.LimitsPolicy
		sc.Storage = jetstream.FileStorage
		sc.Replicas = replicas(c)
		sc.MaxAge = c.MaxAge
		sc.MaxBytes = maxBytes(c)
		switch i {
		case 0:
			// Audio: kept for nats.audio_max_age; a full stream refuses new audio instead of
			// dropping audio not processed yet.
			sc.MaxAge = audioMaxAge(c)
			sc.Discard = jetstream.DiscardNew
		case 2:
			// Rejected input, audio included: kept for nats.dlq_max_age.
			sc.MaxAge = dlqMaxAge(c)
		}
		if sc.Duplicates == 0 {
			sc.Duplicates = inputDuplicateWindow
		}
		if sc.MaxAge > 0 && sc.Duplicates > sc.MaxAge {
			sc.Duplicates = sc.MaxAge
		}
		if _, err := retryCreate(ctx, quiet, "stream "+sc.Name, func(ctx context.Context) (jetstream.Stream, error) {
			return js.CreateOrUpdateStream(ctx, sc)
		}); err != nil {
			return nil, fmt.Errorf("creating stream %s on %s.>: %w", sc.Name, sc.Subjects[0], err)
		}
	}
	if _, err := ObjectStore(ctx, js, c); err != nil {
		return nil, err
	}
	var out []jetstream.Consumer
	for p := 0; p < Partitions; p++ {
		cc := ConsumerConfig(c, p)
		cons, err := retryCreate(ctx, quiet, "consumer "+cc.Durable, func(ctx context.Context) (jetstream.Consumer, error) {
			return js.CreateOrUpdateConsumer(ctx, n.AudioStream, cc)
		})
		if err != nil {
			return nil, fmt.Errorf("creating consumer %s on stream %s: %w", cc.Durable, n.AudioStream, err)
		}
		out = append(out, cons)
	}
	return out, nil
}

// ConsumerName is the durable consumer of partition p.
func ConsumerName(c config.NATS, p int) string { return fmt.Sprintf("%s-p%d", NamesOf(c).Consumer, p) }

// PriorityGroup is the priority group every instance pulls with.
const PriorityGroup = "sentio"

// pullExpiry is how long one pull request waits; PinnedTTL is three of them.
func pullExpiry(c config.NATS) time.Duration {
	return min(5*time.Second, max(time.Second, ackWait(c)/2))
}

// PinnedTTL is how long a partition stays pinned to an instance that stopped pulling (it died or
// handed the partition over) before another instance gets it.
func PinnedTTL(c config.NATS) time.Duration { return 3 * pullExpiry(c) }

// ConsumerConfig is the durable pull consumer of partition p, shared by every instance and pinned
// to one of them at a time. Its MaxDeliver is unlimited: sentio, not JetStream, decides when a
// message has had enough deliveries (failed ones against max_deliver in stages.Tracker, all of
// them against deliveryLimit before processing), because only sentio can tell a failed delivery
// from one cut short by a crash, and because a message JetStream stops delivering is lost when
// its DLQ entry could not be written on the last delivery: a rejection whose DLQ write fails Naks
// the message instead, so it comes back and the write is tried again. MaxAckPending is the configured
// one for each partition: stream-mode chunks stay unacked while their utterance is being spoken,
// so a partition needs room for (its live calls × the chunks of an utterance); clips are bounded by
// the pipeline's queues long before.
func ConsumerConfig(c config.NATS, p int) jetstream.ConsumerConfig {
	n := NamesOf(c)
	return jetstream.ConsumerConfig{
		Durable:        ConsumerName(c, p),
		Description:    fmt.Sprintf("sentio pipeline input, partition %d of %d", p, Partitions),
		FilterSubject:  fmt.Sprintf("%s.%d.*", n.AudioSubject, p),
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        ackWait(c),
		MaxDeliver:     -1,
		MaxAckPending:  maxAckPending(c),
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PriorityGroups: []string{PriorityGroup},
		PinnedTTL:      PinnedTTL(c),
	}
}

// ObjectStore creates or updates the bucket of large clips, with the streams' replicas and
// max_bytes and the audio stream's audio_max_age, and returns it. Setup calls it: publishers use the bucket the daemon made.
func ObjectStore(ctx context.Context, js jetstream.JetStream, c config.NATS) (jetstream.ObjectStore, error) {
	os, err := retryCreate(ctx, quiet, "object store "+ObjectBucket, func(ctx context.Context) (jetstream.ObjectStore, error) {
		return js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: ObjectBucket,
			Description: "sentio clips larger than the maximum message payload", TTL: audioMaxAge(c), Replicas: replicas(c),
			MaxBytes: maxBytes(c), Storage: jetstream.FileStorage})
	})
	if err != nil {
		return nil, fmt.Errorf("creating object store %s: %w", ObjectBucket, err)
	}
	return os, nil
}
