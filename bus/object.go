package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/config"
)

// Errors of [Bus.Object] that no retry can cure, besides jetstream.ErrObjectNotFound.
var (
	// ErrObjectRef: the reference names another bucket than [ObjectBucket], an empty name, a name
	// with control characters or invalid UTF-8, or a link to another object.
	ErrObjectRef = errors.New("invalid object reference")
	// ErrObjectTooLarge: the object is larger than nats.max_object_bytes; it was not read.
	ErrObjectTooLarge = errors.New("object too large")
)

// objectName is the object a reference names in [ObjectBucket]: ref is "name" or
// ObjectBucket+"/name". Another bucket, an empty name, control characters and invalid UTF-8
// are [ErrObjectRef].
func objectName(ref string) (string, error) {
	name := ref
	if bucket, rest, ok := strings.Cut(ref, "/"); ok {
		if bucket != ObjectBucket {
			return "", fmt.Errorf("%w: %q is not in bucket %s", ErrObjectRef, ref, ObjectBucket)
		}
		name = rest
	}
	switch {
	case name == "":
		return "", fmt.Errorf("%w: %q names no object", ErrObjectRef, ref)
	case !utf8.ValidString(name):
		return "", fmt.Errorf("%w: %q is not valid UTF-8", ErrObjectRef, ref)
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", fmt.Errorf("%w: %q holds control characters", ErrObjectRef, ref)
	}
	return name, nil
}

// Object fetches a large clip from the object store: ref is "name" or ObjectBucket+"/name". The size is
// checked from the object's info before anything is read, against nats.max_object_bytes, and the
// contents are read into one buffer of that size.
func (b *Bus) Object(ctx context.Context, ref string) ([]byte, error) {
	name, err := objectName(ref)
	if err != nil {
		return nil, err
	}
	store, err := b.JS.ObjectStore(ctx, ObjectBucket)
	if err != nil {
		return nil, err
	}
	info, err := store.GetInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := b.checkObject(info); err != nil {
		return nil, err
	}
	res, err := store.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	if info, err = res.Info(); err != nil {
		return nil, err
	}
	if err := b.checkObject(info); err != nil { // replaced since the first look
		return nil, err
	}
	buf := make([]byte, info.Size)
	if _, err := io.ReadFull(res, buf); err != nil {
		return nil, fmt.Errorf("reading object %q: %w", name, err)
	}
	// The end of the object is where its digest is checked.
	if n, err := res.Read(make([]byte, 1)); n > 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = fmt.Errorf("longer than its info's %d bytes", info.Size)
		}
		return nil, fmt.Errorf("reading object %q: %w", name, err)
	}
	return buf, nil
}

// checkObject refuses links (they may point into any bucket, and Get follows them) and objects
// over the maximum.
func (b *Bus) checkObject(info *jetstream.ObjectInfo) error {
	if info.Opts != nil && info.Opts.Link != nil {
		return fmt.Errorf("%w: %q is a link to %s/%s", ErrObjectRef, info.Name, info.Opts.Link.Bucket, info.Opts.Link.Name)
	}
	if info.Bucket != ObjectBucket {
		return fmt.Errorf("%w: %q is in bucket %s", ErrObjectRef, info.Name, info.Bucket)
	}
	limit := b.cfg.MaxObjectBytes
	if limit <= 0 {
		limit = config.Defaults().NATS.MaxObjectBytes
	}
	if info.Size > uint64(limit) {
		return fmt.Errorf("%w: %q is %d bytes, more than nats.max_object_bytes (%d)", ErrObjectTooLarge, info.Name, info.Size, limit)
	}
	return nil
}
