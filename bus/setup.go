package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/config"
)

// ObjectBucket is the NATS Object Store bucket holding clips too large for one message.
const ObjectBucket = "sentio-audio"

// Names are the streams, subjects and consumer sentio uses, with defaults filled in.
type Names struct {
	AudioStream, AudioSubject   string
	ResultStream, ResultSubject string
	DLQStream, DLQSubject       string
	Consumer                    string
}

// NamesOf returns the names in c, defaults for the empty ones.
func NamesOf(c config.NATS) Names {
	n := Names{c.AudioStream, c.AudioSubject, c.ResultStream, c.ResultSubject, c.DLQStream, c.DLQSubject, c.Consumer}
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&n.AudioStream, "SENTIO_AUDIO")
	def(&n.AudioSubject, "sentio.audio")
	def(&n.ResultStream, "SENTIO_RESULTS")
	def(&n.ResultSubject, "sentio.results")
	def(&n.DLQStream, "SENTIO_DLQ")
	def(&n.DLQSubject, "sentio.dlq")
	def(&n.Consumer, "sentio")
	return n
}

// DuplicateWindow is how long the results stream remembers Nats-Msg-Ids: long enough to cover a
// crash, a restart and every redelivery of the input.
func DuplicateWindow(c config.NATS) time.Duration {
	w := 30 * time.Minute
	if d := 2 * ackWait(c) * time.Duration(maxDeliver(c)+1); d > w {
		w = d
	}
	if c.MaxAge > 0 && w > c.MaxAge {
		w = c.MaxAge
	}
	return w
}

func ackWait(c config.NATS) time.Duration {
	if c.AckWait > 0 {
		return c.AckWait
	}
	return 30 * time.Second
}

func maxDeliver(c config.NATS) int {
	if c.MaxDeliver > 0 {
		return c.MaxDeliver
	}
	return 5
}

func maxAckPending(c config.NATS) int {
	if c.MaxAckPending > 0 {
		return c.MaxAckPending
	}
	return 256
}

// Setup creates or updates the three streams and the durable consumer; running it again (from
// another instance, or after a restart) changes nothing.
func Setup(ctx context.Context, js jetstream.JetStream, c config.NATS) (jetstream.Consumer, error) {
	n := NamesOf(c)
	replicas := c.Replicas
	if replicas <= 0 {
		replicas = 1
	}
	maxBytes := c.MaxBytes
	if maxBytes == 0 {
		maxBytes = -1
	}
	streams := []jetstream.StreamConfig{
		{Name: n.AudioStream, Subjects: []string{n.AudioSubject + ".>"}, Description: "sentio input audio (clips and stream chunks)"},
		{Name: n.ResultStream, Subjects: []string{n.ResultSubject + ".>"}, Description: "sentio results and call summaries",
			Duplicates: DuplicateWindow(c)},
		{Name: n.DLQStream, Subjects: []string{n.DLQSubject + ".>"}, Description: "sentio rejected input, with the reason"},
	}
	for _, sc := range streams {
		sc.Retention = jetstream.LimitsPolicy
		sc.Storage = jetstream.FileStorage
		sc.Replicas = replicas
		sc.MaxAge = c.MaxAge
		sc.MaxBytes = maxBytes
		if sc.Duplicates == 0 {
			sc.Duplicates = 2 * time.Minute
		}
		if sc.MaxAge > 0 && sc.Duplicates > sc.MaxAge {
			sc.Duplicates = sc.MaxAge
		}
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return nil, fmt.Errorf("creating stream %s on %s.>: %w", sc.Name, sc.Subjects[0], err)
		}
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, n.AudioStream, ConsumerConfig(c))
	if err != nil {
		return nil, fmt.Errorf("creating consumer %s on stream %s: %w", n.Consumer, n.AudioStream, err)
	}
	return cons, nil
}

// ConsumerConfig is the durable pull consumer every instance shares. Its MaxDeliver is one more
// than the configured one: the extra delivery is never processed but sent to the DLQ with reason
// max_deliveries, so an input whose processing crashed the daemon each time is not lost silently.
func ConsumerConfig(c config.NATS) jetstream.ConsumerConfig {
	n := NamesOf(c)
	return jetstream.ConsumerConfig{
		Durable:       n.Consumer,
		Description:   "sentio pipeline input",
		FilterSubject: n.AudioSubject + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait(c),
		MaxDeliver:    maxDeliver(c) + 1,
		MaxAckPending: maxAckPending(c),
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      0,
	}
}

// ObjectStore returns the bucket of large clips, creating it when absent.
func ObjectStore(ctx context.Context, js jetstream.JetStream, c config.NATS) (jetstream.ObjectStore, error) {
	replicas := c.Replicas
	if replicas <= 0 {
		replicas = 1
	}
	ttl := c.MaxAge
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	os, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: ObjectBucket,
		Description: "sentio clips larger than the maximum message payload", TTL: ttl, Replicas: replicas,
		Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("creating object store %s: %w", ObjectBucket, err)
	}
	return os, nil
}
