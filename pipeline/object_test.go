package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/wire"
)

// An object reference that can never be read (another bucket, an invalid bucket or object name)
// goes to the DLQ as bad_object_ref at its first delivery, not as max_deliveries after retries;
// an object larger than nats.max_object_bytes is too_large; a reference by bare name or into
// sentio's bucket is served.
func TestObjectReferencesAreCheckedBeforeReading(t *testing.T) {
	clip := wav(tone(2, [2]float64{0.3, 1.2}), 16000)
	cfg := testConfig()
	cfg.NATS.MaxObjectBytes = int64(len(clip))
	r := newRigWith(t, cfg, &fakeASR{}, nil)
	ctx := context.Background()
	obs, err := bus.ObjectStore(ctx, r.js, cfg.NATS)
	if err != nil {
		t.Fatal(err)
	}
	other, err := r.js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"clip": clip, "big": wav(tone(3, [2]float64{0.3, 1.2}), 16000)} {
		if _, err := obs.PutBytes(ctx, name, data); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := other.PutBytes(ctx, "clip", clip); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ call, ref, code string }{
		{"foreign-bucket", "elsewhere/clip", wire.ReasonBadObjectRef},
		{"invalid-bucket", "no such bucket!/clip", wire.ReasonBadObjectRef},
		{"empty-name", bus.ObjectBucket + "/", wire.ReasonBadObjectRef},
		{"control-char", "cl\x01ip", wire.ReasonBadObjectRef},
		{"invalid-utf8", "clip\xff", wire.ReasonBadObjectRef},
		{"too-large", "big", wire.ReasonTooLarge},
		{"missing", bus.ObjectBucket + "/nope", wire.ReasonObjectNotFound},
	}
	for _, c := range cases {
		r.clip(c.call, nil, map[string]string{wire.HeaderObject: c.ref})
	}
	r.clip("by-name", nil, map[string]string{wire.HeaderObject: "clip"})
	r.clip("by-bucket", nil, map[string]string{wire.HeaderObject: bus.ObjectBucket + "/clip"})

	dlq := collect(t, r.js, r.cfg.NATS.DLQStream, "sentio.dlq.>", len(cases), 15*time.Second)
	got := map[string]jetstream.Msg{}
	for _, m := range dlq {
		got[wire.CallID(m.Subject())] = m
	}
	for _, c := range cases {
		m, ok := got[c.call]
		if !ok {
			t.Errorf("%s (%q): no DLQ entry; want %s", c.call, c.ref, c.code)
			continue
		}
		if h := m.Headers(); h.Get(wire.HeaderReasonCode) != c.code || h.Get(wire.HeaderDelivered) != "1" {
			t.Errorf("%s (%q): DLQ code %s at delivery %s (%s); want %s at the first",
				c.call, c.ref, h.Get(wire.HeaderReasonCode), h.Get(wire.HeaderDelivered), h.Get(wire.HeaderReason), c.code)
		}
	}
	if len(dlq) != len(cases) {
		t.Errorf("DLQ holds %d entries; want %d", len(dlq), len(cases))
	}
	for _, call := range []string{"by-name", "by-bucket"} {
		if res := collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results."+call, 1, 10*time.Second); len(res) != 1 {
			t.Errorf("%s: %d results; want 1", call, len(res))
		}
	}
	r.settled(5 * time.Second)
}
