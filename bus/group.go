package bus

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/sentio-health/sentio/config"
)

// MembersBucket is the key-value bucket where running instances announce themselves.
const MembersBucket = "sentio-members"

// Membership timing: an instance refreshes its key every Heartbeat; a key not refreshed for
// MemberTTL (a dead instance) disappears, and its partitions move to the others.
const (
	Heartbeat = time.Second
	MemberTTL = 4 * time.Second
)

// FailoverWindow is the longest a partition of an instance that died takes to reach another
// instance: its membership expires (MemberTTL), then the partition's pin (PinnedTTL).
func FailoverWindow(c config.NATS) time.Duration { return MemberTTL + PinnedTTL(c) }

// RedeliveryWait is the longest a message an instance received but did not ack takes to be
// delivered again once that instance stops: its ack wait, plus a margin for the server's
// redelivery timer.
func RedeliveryWait(c config.NATS) time.Duration { return ackWait(c) + 2*time.Second }

// NakDelay is how long an input that failed waits before its redelivery (a tenth of the ack
// wait), for its first failure; each further failure waits once more as long.
func NakDelay(c config.NATS) time.Duration { return ackWait(c) / 10 }

// Group consumes the partitions this instance owns. Ownership is rendezvous hashing with bounded
// load of the partitions over the live instances (the keys of MembersBucket, see assign), so
// instances share the partitions evenly and a change of membership moves few partitions. The
// consumers' pinned priority group makes ownership exclusive on the server side too: a partition
// handed over (or left by a dead instance) is delivered to the new owner only once the old one
// has stopped pulling for the consumer's PinnedTTL.
type Group struct {
	bus     *Bus
	cons    []jetstream.Consumer
	buffer  int
	handler Handler
	id      string
	kv      jetstream.KeyValue

	mu      sync.Mutex
	running map[int]*Consumer
	owned   []int
	stop    chan struct{}
	done    chan struct{}
}

// ConsumeGroup joins the group and starts consuming the partitions this instance owns.
func (b *Bus) ConsumeGroup(ctx context.Context, cons []jetstream.Consumer, buffer int, h Handler) (*Group, error) {
	kv, err := retryCreate(ctx, b.log, "bucket "+MembersBucket, func(ctx context.Context) (jetstream.KeyValue, error) {
		return b.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: MembersBucket,
			Description: "sentio instances sharing the audio partitions", TTL: MemberTTL, Replicas: replicas(b.cfg),
			Storage: jetstream.MemoryStorage})
	})
	if err != nil {
		return nil, fmt.Errorf("creating the members bucket %s: %w", MembersBucket, err)
	}
	g := &Group{bus: b, cons: cons, buffer: buffer, handler: h, id: nuid.Next(), kv: kv,
		running: map[int]*Consumer{}, stop: make(chan struct{}), done: make(chan struct{})}
	if _, err := kv.PutString(ctx, g.id, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return nil, fmt.Errorf("joining the group: %w", err)
	}
	g.rebalance(ctx)
	go g.loop()
	return g, nil
}

// ID is this instance's member id.
func (g *Group) ID() string { return g.id }

// Owned returns the partitions this instance consumes now.
func (g *Group) Owned() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.owned...)
}

// Owns reports whether this instance consumes partition p now.
func (g *Group) Owns(p int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Contains(g.owned, p)
}

func (g *Group) loop() {
	defer close(g.done)
	t := time.NewTicker(Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), Heartbeat)
		if _, err := g.kv.PutString(ctx, g.id, time.Now().UTC().Format(time.RFC3339)); err != nil {
			g.bus.log.Debug("membership heartbeat failed", "err", err)
		}
		g.rebalance(ctx)
		cancel()
	}
}

// assign maps each of n partitions to its owner among members: rendezvous hashing with bounded
// load. Each partition goes to the member that ranks it highest among those still below
// ceil(n/len(members)) partitions, so every instance computes the same assignment, the members
// share the partitions evenly (plain rendezvous hashing gave all 8 to one of two instances about
// once in 128 joins), and a change of membership still moves few partitions.
func assign(members []string, n int) []string {
	limit := (n + len(members) - 1) / len(members)
	load := make(map[string]int, len(members))
	out := make([]string, n)
	for p := 0; p < n; p++ {
		// The member ranking p highest among those with room (ties go to the first in members).
		best, bestScore := "", uint64(0)
		for _, m := range members {
			if s := score(m, p); load[m] < limit && (best == "" || s > bestScore) {
				best, bestScore = m, s
			}
		}
		out[p] = best
		load[best]++
	}
	return out
}

// score is member m's rendezvous weight for partition p. A cryptographic hash: member ids share
// long prefixes, which weak hashes keep correlated.
func score(m string, p int) uint64 {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", m, p)))
	return binary.BigEndian.Uint64(sum[:8])
}

func (g *Group) rebalance(ctx context.Context) {
	keys, err := g.kv.Keys(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		g.bus.log.Debug("listing group members failed; keeping the current partitions", "err", err)
		return
	}
	members := []string{g.id}
	for _, k := range keys {
		if k != g.id {
			members = append(members, k)
		}
	}
	sort.Strings(members)
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.stop:
		return
	default:
	}
	var owned, started, handed []int
	owners := assign(members, len(g.cons))
	for p := range g.cons {
		mine := owners[p] == g.id
		c, running := g.running[p]
		switch {
		case mine && !running:
			c, err := g.bus.Consume(g.cons[p], g.buffer, g.handler,
				jetstream.PullPriorityGroup(PriorityGroup), jetstream.PullExpiry(pullExpiry(g.bus.cfg)))
			if err != nil {
				g.bus.log.Warn("could not consume a partition; retrying", "partition", p, "err", err)
				continue
			}
			g.running[p] = c
			started = append(started, p)
		case !mine && running:
			delete(g.running, p)
			handed = append(handed, p)
			go func() {
				dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_ = c.Drain(dctx)
			}()
		}
		if mine {
			owned = append(owned, p)
		}
	}
	if len(started) > 0 || len(handed) > 0 {
		// One line per change: the partitions this member consumes now, and what moved.
		var running []int
		for p := range g.running {
			running = append(running, p)
		}
		sort.Ints(running)
		g.bus.log.Info("partitions assigned", "member", g.id, "members", len(members),
			"consuming", running, "started", started, "handed_over", handed)
	}
	g.owned = owned
	g.bus.partitions.Set(float64(len(owned)))
}

// Drain leaves the group (the others take the partitions over) and drains every consumer.
func (g *Group) Drain(ctx context.Context) error {
	g.mu.Lock()
	select {
	case <-g.stop:
	default:
		close(g.stop)
	}
	running := g.running
	g.running = map[int]*Consumer{}
	g.mu.Unlock()
	<-g.done
	g.bus.partitions.Set(0)
	dctx, cancel := context.WithTimeout(ctx, Heartbeat)
	_ = g.kv.Delete(dctx, g.id)
	cancel()
	var errs []error
	for _, c := range running {
		if err := c.Drain(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
