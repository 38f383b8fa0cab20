package console

import (
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkResultToTenBrowsers is the cost of one result reaching ten browsers: stored in the
// window, encoded once, queued for each (and taken off the queues).
func BenchmarkResultToTenBrowsers(b *testing.B) {
	h := newHub(slog.New(slog.DiscardHandler))
	var clients []*client
	for range 10 {
		c, _ := h.subscribe(Status{})
		clients = append(clients, c)
	}
	r := result("call-b", "u", 0, "customer", "I have had a terrible headache for three days.", "negative")
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rr := *r
		rr.UtteranceID = fmt.Sprintf("u%d", i%MaxUtterances)
		rr.StartMS = int64(i%MaxUtterances) * 1000
		h.result(&rr, now)
		for _, c := range clients { // the browsers read it
			<-c.frames
		}
	}
	if h.clientCount() != 10 {
		b.Fatalf("%d browsers left; a reading browser was dropped", h.clientCount())
	}
}

// BenchmarkSnapshotFullWindow encodes the snapshot a browser gets first, with MaxCalls calls of
// 50 utterances each.
func BenchmarkSnapshotFullWindow(b *testing.B) {
	h := newHub(slog.New(slog.DiscardHandler))
	now := time.Now()
	for c := range MaxCalls {
		for u := range 50 {
			h.result(result(fmt.Sprintf("call-%d", c), fmt.Sprintf("u%d", u), int64(u)*3000, "agent",
				"Thank you so much, I feel much better now.", "positive"), now)
		}
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(h.snapshotJSON(Status{Time: now}))
	}
	b.ReportMetric(float64(n)/1e6, "MB")
}
