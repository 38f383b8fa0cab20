package cli_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/wire"
)

// A clip larger than the maximum payload goes into the bucket the daemon created, which keeps
// the daemon's configuration (replicas, max_age): the publisher neither creates nor changes it.
func TestPublishLargeClipUsesTheDaemonsBucket(t *testing.T) {
	url, js := setupStreams(t)
	ctx := context.Background()
	daemon := config.Defaults().NATS
	daemon.AudioMaxAge = 5 * time.Hour
	if _, err := bus.Setup(ctx, js, daemon); err != nil {
		t.Fatal(err)
	}
	file := writeWAV(t, 40) // 1.28 MB, over the default 1 MB maximum payload
	if out, errs, code := sentio(t, nil, "publish", "--nats", url, "--call-id", "big", file); code != 0 {
		t.Fatalf("publish: exit %d\n%s%s", code, out, errs)
	}
	msgs := streamMsgs(t, js, "SENTIO_AUDIO", "sentio.audio.*.big")
	if len(msgs) != 1 || len(msgs[0].Data()) != 0 {
		t.Fatalf("%d messages; want 1 without data", len(msgs))
	}
	ref := msgs[0].Headers().Get(wire.HeaderObject)
	name, ok := strings.CutPrefix(ref, bus.ObjectBucket+"/")
	if !ok {
		t.Fatalf("%s: %q; want %s/<name>", wire.HeaderObject, ref, bus.ObjectBucket)
	}
	obs, err := js.ObjectStore(ctx, bus.ObjectBucket)
	if err != nil {
		t.Fatal(err)
	}
	got, err := obs.GetBytes(ctx, name)
	want, _ := os.ReadFile(file)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("object %q: %d bytes, %v; want the file's %d", name, len(got), err, len(want))
	}
	st, err := obs.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != daemon.AudioMaxAge || st.Replicas() != daemon.Replicas {
		t.Fatalf("bucket after publish: TTL %v, %d replicas; want the daemon's %v, %d", st.TTL(), st.Replicas(), daemon.AudioMaxAge, daemon.Replicas)
	}
}
