package bus

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

func jsOn(t *testing.T) jetstream.JetStream {
	t.Helper()
	_, js := testenv.Connect(t, testenv.RunJetStream(t).ClientURL())
	return js
}

// Setup is idempotent and applies the configured limits; calls land in their partition.
func TestSetupIdempotentWithConfiguredLimits(t *testing.T) {
	js := jsOn(t)
	c := config.Defaults().NATS
	c.MaxAge = time.Hour
	c.AudioMaxAge = 30 * time.Minute
	c.DLQMaxAge = 2 * time.Hour
	c.MaxBytes = 1 << 30
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		cons, err := Setup(ctx, js, c)
		if err != nil {
			t.Fatalf("setup #%d: %v", i+1, err)
		}
		if len(cons) != Partitions {
			t.Fatalf("%d consumers; want %d", len(cons), Partitions)
		}
	}
	for _, name := range []string{c.AudioStream, c.ResultStream, c.DLQStream} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		cfg := s.CachedInfo().Config
		age, discard := time.Hour, jetstream.DiscardOld
		if name == c.AudioStream {
			// Audio is kept for its own age, and a full stream refuses audio instead of dropping
			// audio not yet processed.
			age, discard = 30*time.Minute, jetstream.DiscardNew
		}
		if name == c.DLQStream {
			age = 2 * time.Hour
		}
		if cfg.MaxAge != age || cfg.Discard != discard || cfg.MaxBytes != 1<<30 || cfg.Replicas != 1 || cfg.Storage != jetstream.FileStorage {
			t.Fatalf("stream %s: %+v", name, cfg)
		}
	}
	rs, err := js.Stream(ctx, c.ResultStream)
	if err != nil {
		t.Fatal(err)
	}
	if d := rs.CachedInfo().Config.Duplicates; d < 30*time.Minute {
		t.Fatalf("results duplicate window %v is shorter than a crash and its redeliveries", d)
	}
	cons, err := js.Consumer(ctx, c.AudioStream, ConsumerName(c, 0))
	if err != nil {
		t.Fatal(err)
	}
	cc := cons.CachedInfo().Config
	// Unlimited: sentio counts failed deliveries itself (see ConsumerConfig).
	if cc.MaxDeliver != -1 || cc.AckPolicy != jetstream.AckExplicitPolicy || cc.PriorityPolicy != jetstream.PriorityPolicyPinned {
		t.Fatalf("consumer config %+v", cc)
	}
	// A call's messages all land in one partition.
	for i := 0; i < 3; i++ {
		if _, err := js.Publish(ctx, "sentio.audio.call-7", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	// The consumers' pending counts follow the stream a moment after the PubAck: poll.
	var total int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		total = 0
		for p := 0; p < Partitions; p++ {
			cons, err := js.Consumer(ctx, c.AudioStream, ConsumerName(c, p))
			if err != nil {
				t.Fatal(err)
			}
			info, err := cons.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.NumPending != 0 && p != PartitionOf("call-7") {
				t.Fatalf("the server put %d of call-7's messages in partition %d; PartitionOf says %d", info.NumPending, p, PartitionOf("call-7"))
			}
			total += int(info.NumPending)
		}
		if total == 3 || time.Now().After(deadline) {
			break
		}
	}
	if total != 3 {
		t.Fatalf("%d messages over the partitions; want 3", total)
	}
}

// The DLQ stream, whose entries carry the rejected audio, keeps them for nats.dlq_max_age (72h
// by default, what nats.max_age gave it before it had its own key), not for the results' age;
// a changed age is applied to the existing stream by the next Setup, and 0 is no limit.
func TestDLQMaxAgeAppliesToTheDLQStreamAndFollowsChanges(t *testing.T) {
	if d := config.Defaults().NATS.DLQMaxAge; d != 72*time.Hour {
		t.Errorf("default nats.dlq_max_age %v; want 72h", d)
	}
	js := jsOn(t)
	ctx := context.Background()
	c := config.Defaults().NATS
	c.MaxAge = time.Hour
	for _, age := range []time.Duration{config.Defaults().NATS.DLQMaxAge, 90 * time.Minute, 0, time.Minute} {
		c.DLQMaxAge = age
		if _, err := Setup(ctx, js, c); err != nil {
			t.Fatalf("setup with dlq_max_age %v: %v", age, err)
		}
		dlq, err := js.Stream(ctx, c.DLQStream)
		if err != nil {
			t.Fatal(err)
		}
		cfg := dlq.CachedInfo().Config
		if cfg.MaxAge != age {
			t.Errorf("dlq_max_age %v: DLQ stream MaxAge %v", age, cfg.MaxAge)
		}
		if age > 0 && cfg.Duplicates > age {
			t.Errorf("dlq_max_age %v: DLQ duplicate window %v is longer than the age", age, cfg.Duplicates)
		}
		rs, err := js.Stream(ctx, c.ResultStream)
		if err != nil {
			t.Fatal(err)
		}
		if got := rs.CachedInfo().Config.MaxAge; got != time.Hour {
			t.Errorf("dlq_max_age %v: results stream MaxAge %v; want nats.max_age (1h)", age, got)
		}
	}
}

func TestAssignSpreadsPartitionsEvenly(t *testing.T) {
	// Random ids like nuid's, over many memberships: plain rendezvous hashing left a member of
	// two with no partition in about one join of 128.
	rng := rand.New(rand.NewPCG(1, 2))
	id := func() string { return fmt.Sprintf("%022x", rng.Uint64()) }
	moved, joins := 0, 0
	for trial := 0; trial < 2000; trial++ {
		members := []string{id(), id()}
		for n := 2; n <= 4; n++ {
			sort.Strings(members)
			owners := assign(members, 8)
			count := map[string]int{}
			for _, o := range owners {
				count[o]++
			}
			for _, m := range members {
				if c := count[m]; c < 8/n || c > (8+n-1)/n {
					t.Fatalf("%d members: %s owns %d of 8 partitions: %v", n, m, c, count)
				}
			}
			if again := assign(members, 8); !slices.Equal(again, owners) {
				t.Fatalf("assign is not deterministic: %v then %v", owners, again)
			}
			// A member joins: count the partitions that move between members that stay.
			next := append(append([]string(nil), members...), id())
			sort.Strings(next)
			after := assign(next, 8)
			for p := range owners {
				if after[p] != owners[p] && slices.Contains(members, after[p]) {
					moved++
				}
			}
			joins++
			members = next
		}
	}
	// Bounded load moves a few partitions between staying members on a join; it must stay rare.
	if avg := float64(moved) / float64(joins); avg > 1.5 {
		t.Errorf("a join moved %.2f partitions between staying members on average", avg)
	}
	t.Logf("partitions moved between staying members per join: %.2f", float64(moved)/float64(joins))
}

func TestDLQEntryKeepsHeadersAndSubject(t *testing.T) {
	js := jsOn(t)
	c := config.Defaults().NATS
	ctx := context.Background()
	cons, err := Setup(ctx, js, c)
	if err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg("sentio.audio.c9")
	m.Header.Set("X-Custom", "kept")
	m.Header.Set(nats.MsgIdHdr, "input-1")
	m.Data = []byte("payload")
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	var got jetstream.Msg
	b, err := cons[PartitionOf("c9")].Fetch(1, jetstream.FetchMaxWait(5*time.Second), jetstream.FetchPriorityGroup(PriorityGroup))
	if err != nil {
		t.Fatal(err)
	}
	for msg := range b.Messages() {
		got = msg
	}
	if got == nil {
		t.Fatal("message not delivered")
	}
	meta, err := got.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	d := (&Input{Msg: got, Meta: meta}).dlqEntry(wire.ReasonNotAudio, "not audio", "segment").Msg(NamesOf(c))
	h := d.Header
	if d.Subject != "sentio.dlq.c9" || h.Get("X-Custom") != "kept" || h.Get(wire.HeaderSubject) != "sentio.audio.c9" ||
		h.Get(wire.HeaderReasonCode) != wire.ReasonNotAudio || h.Get(nats.MsgIdHdr) == "input-1" || string(d.Data) != "payload" {
		t.Fatalf("DLQ message %s %v %q", d.Subject, h, d.Data)
	}
}
