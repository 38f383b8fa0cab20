package bus

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/config"
)

// readCounter counts the reads of objects' contents through its JetStream.
type readCounter struct {
	jetstream.JetStream
	reads *atomic.Int32
}

func (c readCounter) ObjectStore(ctx context.Context, bucket string) (jetstream.ObjectStore, error) {
	os, err := c.JetStream.ObjectStore(ctx, bucket)
	if err != nil {
		return nil, err
	}
	return countedStore{os, c.reads}, nil
}

type countedStore struct {
	jetstream.ObjectStore
	reads *atomic.Int32
}

func (s countedStore) Get(ctx context.Context, name string, opts ...jetstream.GetObjectOpt) (jetstream.ObjectResult, error) {
	s.reads.Add(1)
	return s.ObjectStore.Get(ctx, name, opts...)
}

func (s countedStore) GetBytes(ctx context.Context, name string, opts ...jetstream.GetObjectOpt) ([]byte, error) {
	s.reads.Add(1)
	return s.ObjectStore.GetBytes(ctx, name, opts...)
}

// Object reads only from sentio's bucket, checks the size from the object's info before reading
// it, and says which failures no retry can cure.
func TestObjectChecksTheReferenceAndTheSizeBeforeReading(t *testing.T) {
	js := jsOn(t)
	ctx := context.Background()
	c := config.Defaults().NATS
	c.MaxObjectBytes = 4096
	obs, err := ObjectStore(ctx, js, c)
	if err != nil {
		t.Fatal(err)
	}
	other, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	data := map[string][]byte{"small": bytes.Repeat([]byte("a"), 1000), "max": bytes.Repeat([]byte("b"), 4096),
		"big": bytes.Repeat([]byte("c"), 4097), "a/b": []byte("slash")}
	for name, b := range data {
		if _, err := obs.PutBytes(ctx, name, b); err != nil {
			t.Fatal(err)
		}
	}
	info, err := other.PutBytes(ctx, "small", data["small"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obs.AddLink(ctx, "link", info); err != nil {
		t.Fatal(err)
	}
	var reads atomic.Int32
	b := New(readCounter{js, &reads}, c, nil)
	for _, tc := range []struct {
		ref  string
		want []byte
		err  error
	}{
		{"small", data["small"], nil},
		{ObjectBucket + "/small", data["small"], nil},
		{ObjectBucket + "/max", data["max"], nil},
		{ObjectBucket + "/a/b", data["a/b"], nil},
		{"big", nil, ErrObjectTooLarge},
		{"nope", nil, jetstream.ErrObjectNotFound},
		{"elsewhere/small", nil, ErrObjectRef},
		{"no such bucket!/small", nil, ErrObjectRef},
		{"", nil, ErrObjectRef},
		{ObjectBucket + "/", nil, ErrObjectRef},
		{"sm\x00all", nil, ErrObjectRef},
		{"small\n", nil, ErrObjectRef},
		{"small\x7f", nil, ErrObjectRef},
		{"sm\xffall", nil, ErrObjectRef},
		{"link", nil, ErrObjectRef}, // a link into another bucket
	} {
		before := reads.Load()
		got, err := b.Object(ctx, tc.ref)
		if !errors.Is(err, tc.err) || (tc.err == nil && !bytes.Equal(got, tc.want)) {
			t.Errorf("Object(%q) = %d bytes, %v; want %d bytes, %v", tc.ref, len(got), err, len(tc.want), tc.err)
		}
		if tc.err != nil && reads.Load() != before {
			t.Errorf("Object(%q) read the object's contents before failing with %v", tc.ref, err)
		}
	}
}

// Setup creates the bucket of large clips with the streams' replicas and retention.
func TestSetupCreatesTheObjectStore(t *testing.T) {
	js := jsOn(t)
	ctx := context.Background()
	c := config.Defaults().NATS
	c.AudioMaxAge = 5 * time.Hour
	c.MaxBytes = 1 << 30
	if _, err := Setup(ctx, js, c); err != nil {
		t.Fatal(err)
	}
	obs, err := js.ObjectStore(ctx, ObjectBucket)
	if err != nil {
		t.Fatalf("no bucket %s after Setup: %v", ObjectBucket, err)
	}
	st, err := obs.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != c.AudioMaxAge || st.Replicas() != c.Replicas || st.Storage() != jetstream.FileStorage {
		t.Fatalf("bucket %s: TTL %v, %d replicas, %v storage; want %v, %d, file", ObjectBucket, st.TTL(), st.Replicas(), st.Storage(), c.AudioMaxAge, c.Replicas)
	}
	if s, ok := st.(*jetstream.ObjectBucketStatus); !ok || s.StreamInfo().Config.MaxBytes != c.MaxBytes {
		t.Fatalf("bucket %s does not have the streams' max_bytes %d", ObjectBucket, c.MaxBytes)
	}
}

// The three stores of audio and of what names it (the audio stream, the object store of large
// clips and the calls bucket) keep it for nats.audio_max_age, and a zero age (no limit, as
// config documents it) means no limit for all three.
func TestAudioMaxAgeAppliesToTheStreamTheObjectStoreAndTheCallsBucket(t *testing.T) {
	for _, age := range []time.Duration{0, 2 * time.Hour} {
		js := jsOn(t)
		ctx := context.Background()
		c := config.Defaults().NATS
		c.AudioMaxAge = age
		if _, err := Setup(ctx, js, c); err != nil {
			t.Fatal(err)
		}
		s, err := js.Stream(ctx, c.AudioStream)
		if err != nil {
			t.Fatal(err)
		}
		obs, err := js.ObjectStore(ctx, ObjectBucket)
		if err != nil {
			t.Fatal(err)
		}
		ost, err := obs.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kv, err := New(js, c, nil).Calls(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kst, err := kv.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.CachedInfo().Config.MaxAge; got != age {
			t.Errorf("audio_max_age %v: audio stream MaxAge %v", age, got)
		}
		if ost.TTL() != age {
			t.Errorf("audio_max_age %v: object store TTL %v", age, ost.TTL())
		}
		if kst.TTL() != age {
			t.Errorf("audio_max_age %v: calls bucket TTL %v", age, kst.TTL())
		}
	}
}
