package bus

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/wire"
)

// sentio_dlq_entries_total counts the entries written per reason code, every code at 0 from the
// start; sentio_partitions_owned follows the partitions the group consumes, 0 once it drains.
func TestDLQAndPartitionMetrics(t *testing.T) {
	js := jsOn(t)
	c := config.Defaults().NATS
	ctx := context.Background()
	cons, err := Setup(ctx, js, c)
	if err != nil {
		t.Fatal(err)
	}
	b := New(js, c, nil)
	reg := prometheus.NewRegistry()
	b.RegisterMetrics(reg)
	if n := testutil.CollectAndCount(b.dlqEntries, "sentio_dlq_entries_total"); n != len(wire.ReasonCodes) {
		t.Errorf("%d sentio_dlq_entries_total series before any entry; want one per reason code (%d)", n, len(wire.ReasonCodes))
	}
	if err := b.PublishDLQ(ctx, DLQEntry{Subject: "sentio.audio.c9", Data: []byte("x"), Code: wire.ReasonNotAudio, Reason: "not a WAV file", Stage: "segment"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Notice(ctx, DLQEntry{Subject: "sentio.audio.c9", Code: wire.ReasonSequenceGap, Reason: "chunks 3-5 never arrived", Stage: "segment", MsgID: "gap-c9-3-5"}); err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]float64{wire.ReasonNotAudio: 1, wire.ReasonSequenceGap: 1, wire.ReasonLateChunk: 0} {
		if n := testutil.ToFloat64(b.dlqEntries.WithLabelValues(code)); n != want {
			t.Errorf("sentio_dlq_entries_total{reason=%q} = %v; want %v", code, n, want)
		}
	}

	if n := testutil.ToFloat64(b.partitions); n != 0 {
		t.Errorf("sentio_partitions_owned = %v before joining; want 0", n)
	}
	g, err := b.ConsumeGroup(ctx, cons, 1, func(*Input) {})
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(b.partitions); n != Partitions || len(g.Owned()) != Partitions {
		t.Errorf("sentio_partitions_owned = %v, Owned() = %v; the only member owns all %d", n, g.Owned(), Partitions)
	}
	if err := g.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(b.partitions); n != 0 {
		t.Errorf("sentio_partitions_owned = %v after Drain; want 0", n)
	}
}
