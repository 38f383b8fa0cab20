package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The subscriber reads alert events as it reads results: live on sentio.events.>, and from its
// copy of the results stream, which holds them (as `sentio tail` reads them).
func TestSubscriberReadsEvents(t *testing.T) {
	s := startSecured(t)
	var aerr asyncErrors
	sc, sjs := s.connect(t, UserSubscriber, aerr.option())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	live, err := sc.SubscribeSync("sentio.events.>")
	if err != nil {
		t.Fatal(err)
	}
	sc.Flush()
	if _, err := s.js.Publish(ctx, "sentio.events.call-1", []byte(`{"rule":"r"}`)); err != nil {
		t.Fatalf("the daemon publishing an event into the results stream: %v", err)
	}
	if m, err := live.NextMsg(5 * time.Second); err != nil || m.Subject != "sentio.events.call-1" {
		t.Fatalf("the subscriber's live subscription to events: %v", err)
	}
	var got jetstream.Msg
	eventually(t, 15*time.Second, "the event in the subscriber's results stream", func() bool {
		c, err := sjs.OrderedConsumer(ctx, "SENTIO_RESULTS", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"sentio.events.call-1"}})
		if err != nil {
			return false
		}
		m, err := c.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return false
		}
		got = m
		return true
	})
	if string(got.Data()) != `{"rule":"r"}` {
		t.Errorf("the subscriber read %q", got.Data())
	}
}
