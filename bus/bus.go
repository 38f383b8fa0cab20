package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/metricsns"
	"github.com/sentio-health/sentio/wire"
)

// Bus is sentio's connection to its streams.
type Bus struct {
	JS    jetstream.JetStream
	Names Names
	cfg   config.NATS
	log   *slog.Logger
	// dlqFailures counts DLQ entries that could not be written (see RegisterMetrics).
	dlqFailures prometheus.Counter
	// dlqEntries counts DLQ entries written, by reason code; partitions is how many partitions
	// this instance consumes (see RegisterMetrics).
	dlqEntries *prometheus.CounterVec
	partitions prometheus.Gauge

	callsMu sync.Mutex
	calls   jetstream.KeyValue // see Calls
	audio   audioStream        // see NextStored
}

// New returns a Bus on js; call Setup (or bus.Setup) before consuming.
func New(js jetstream.JetStream, c config.NATS, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bus{JS: js, Names: NamesOf(c), cfg: c, log: log,
		dlqFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Subsystem: "dlq",
			Name: "publish_failures_total", Help: "DLQ entries that could not be written (after in-place retries); the input stays pending and its rejection is retried."}),
		dlqEntries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "dlq",
			Name: "entries_total", Help: "DLQ entries written, by reason code (Sentio-Reason-Code)."}, []string{"reason"}),
		partitions: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace,
			Name: "partitions_owned", Help: "Audio partitions this instance consumes now (of 8, shared among the instances)."}),
	}
}

// namespace is the namespace of the bus's metrics, sentio's.
const namespace = metricsns.Namespace

// RegisterMetrics registers the bus's collectors on reg:
//
//	sentio_dlq_publish_failures_total   DLQ entries that could not be written; the input stays pending
//	sentio_dlq_entries_total{reason}    DLQ entries written, by reason code (every code at 0 from the start)
//	sentio_partitions_owned             audio partitions this instance consumes now
func (b *Bus) RegisterMetrics(reg prometheus.Registerer) {
	for _, code := range wire.ReasonCodes {
		b.dlqEntries.WithLabelValues(code)
	}
	if reg != nil {
		reg.MustRegister(b.dlqFailures, b.dlqEntries, b.partitions)
	}
}

// MaxDeliver is the configured number of failed deliveries after which an input is rejected
// (max_deliveries); see stages.Tracker.
func (b *Bus) MaxDeliver() int { return maxDeliver(b.cfg) }

// MaxDeliveries is how many deliveries an input may have in all, failed or not, before it is
// rejected unprocessed (max_deliveries): deliveries cut short by a crash, a kill or a stop do not
// count as failures, but an input that crashes the process each time must not loop forever. See
// deliveryLimit.
func (b *Bus) MaxDeliveries() int { return deliveryLimit(b.cfg) }

// AckWait is the consumer's ack wait.
func (b *Bus) AckWait() time.Duration { return ackWait(b.cfg) }

// MaxAckPending is the consumer's bound on unacknowledged messages.
func (b *Bus) MaxAckPending() int { return maxAckPending(b.cfg) }

// Publish publishes data on subject with Nats-Msg-Id msgID and waits for the PubAck, retrying
// while NATS is unreachable (a restart, a leader election) until ctx ends. A duplicate (the id was
// already published, e.g. before a crash) counts as success.
func (b *Bus) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	m := nats.NewMsg(subject)
	m.Data = data
	if msgID != "" {
		m.Header.Set(nats.MsgIdHdr, msgID)
	}
	return b.publishMsg(ctx, m)
}

func (b *Bus) publishMsg(ctx context.Context, m *nats.Msg) error {
	delay := 50 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := b.JS.PublishMsg(actx, m)
		cancel()
		if err == nil {
			return nil
		}
		if !retryable(err) || ctx.Err() != nil {
			return fmt.Errorf("publishing to %s: %w", m.Subject, err)
		}
		b.log.Debug("publish failed, retrying", "subject", m.Subject, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("publishing to %s: %w (gave up: %v)", m.Subject, err, ctx.Err())
		case <-time.After(delay):
		}
		if delay < 2*time.Second {
			delay *= 2
		}
	}
}

func retryable(err error) bool {
	if errors.Is(err, nats.ErrConnectionClosed) {
		return false // closed for good (the process is going away): nothing will come back
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// The stream answered: only "no leader/unavailable" style errors are worth a retry.
		return apiErr.Code == 503 || apiErr.Code >= 500
	}
	return true // timeouts, no responders, disconnected
}

// CallResults reads back every result published for a call (not its summary), for the summary.
func (b *Bus) CallResults(ctx context.Context, callID string) ([]wire.Result, error) {
	subj := wire.Subject(b.Names.ResultSubject, callID)
	// The consumer is deleted once read; should that fail, the server drops it when idle.
	cons, err := b.JS.OrderedConsumer(ctx, b.Names.ResultStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj},
		InactiveThreshold: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	defer func() {
		if info := cons.CachedInfo(); info != nil {
			dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = b.JS.DeleteConsumer(dctx, b.Names.ResultStream, info.Name)
			cancel()
		}
	}()
	var out []wire.Result
	for {
		batch, err := cons.FetchNoWait(256)
		if err != nil {
			return nil, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var r wire.Result
			if err := json.Unmarshal(m.Data(), &r); err != nil {
				b.log.Warn("undecodable result in the results stream; left out of the summary", "subject", m.Subject(), "err", err)
				continue
			}
			out = append(out, r)
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if n == 0 {
			return out, nil
		}
	}
}
