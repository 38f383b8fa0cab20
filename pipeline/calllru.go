package pipeline

// callLRU holds some state per call for at most max calls: past the bound, the least recently
// used call is forgotten first (a linear scan, paid only when a new call comes past
// pipeline.max_calls). It is not safe for concurrent use: its owner guards it with its own lock.
type callLRU[T any] struct {
	max   int
	tick  uint64
	calls map[string]*lruEntry[T]
}

type lruEntry[T any] struct {
	used uint64
	v    *T
}

func newCallLRU[T any](max int) *callLRU[T] {
	return &callLRU[T]{max: max, calls: map[string]*lruEntry[T]{}}
}

// get returns the call's state and marks it used, creating it (zero) when the call has none.
func (l *callLRU[T]) get(callID string) *T {
	l.tick++
	e := l.calls[callID]
	if e == nil {
		if len(l.calls) >= max(1, l.max) {
			var oldest string
			for id, o := range l.calls {
				if oldest == "" || o.used < l.calls[oldest].used {
					oldest = id
				}
			}
			delete(l.calls, oldest)
		}
		e = &lruEntry[T]{v: new(T)}
		l.calls[callID] = e
	}
	e.used = l.tick
	return e.v
}

// peek returns the call's state without creating it or marking it used; nil when it has none.
func (l *callLRU[T]) peek(callID string) *T {
	if e := l.calls[callID]; e != nil {
		return e.v
	}
	return nil
}

// forget drops the call's state.
func (l *callLRU[T]) forget(callID string) { delete(l.calls, callID) }
