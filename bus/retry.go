package bus

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Creation requests are retried: on a JetStream cluster that has just formed, and when two
// instances create the same replicated stream or bucket at the same moment, a request sometimes
// gets no reply at all (seen with nats-server 2.15.2: both instances' requests time out, and the
// next attempt succeeds at once), or the cluster cannot place the replicas yet.
const (
	createAttempt  = 5 * time.Second // the longest wait for one creation request
	createAttempts = 6
)

// errCodeClusterNoPeers is the JetStream API error code for "no suitable peers for placement"
// (nats-server's JSClusterNoPeersErrF); nats.go v1.55.0's jetstream package exports no constant
// for it, unlike JSErrCodeStreamNameInUse.
const errCodeClusterNoPeers jetstream.ErrorCode = 10005

// retryCreate runs f, an idempotent creation (CreateOrUpdate of a stream, consumer or bucket),
// each attempt bounded by createAttempt, again while it times out or the cluster is not ready to
// place it, until ctx ends or createAttempts attempts have failed.
func retryCreate[T any](ctx context.Context, log *slog.Logger, what string, f func(context.Context) (T, error)) (T, error) {
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, createAttempt)
		v, err := f(actx)
		cancel()
		if err == nil || !retryableCreate(err) || ctx.Err() != nil || attempt == createAttempts {
			return v, err
		}
		log.Warn("creating on JetStream failed; retrying", "what", what, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

func retryableCreate(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) {
		return true
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode {
		case errCodeClusterNoPeers, // no suitable peers for placement: a cluster still forming, a peer restarting
			jetstream.JSErrCodeStreamNameInUse: // another instance created it meanwhile; the retry updates it
			return true
		}
	}
	return false
}
