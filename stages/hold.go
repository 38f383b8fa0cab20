package stages

// Hold is a stage's claim on the inputs of an item it keeps beyond Process: a chunk waiting for
// its place in a stream, audio buffered until its utterance is cut. The inputs cannot settle
// while the hold is kept. It is the one handle a stage needs for ack bookkeeping: Keep when it
// keeps something, Release once it is done with it (the error, if any, is recorded on the
// inputs, as the runner records a Process error).
type Hold struct {
	deps     []*Txn
	released bool
}

// Keep takes a hold on deps (the Deps of the item being processed).
func Keep(deps []*Txn) *Hold {
	Retain(deps)
	return &Hold{deps: deps}
}

// Deps are the inputs the hold is on, for the items emitted from what it keeps.
func (h *Hold) Deps() []*Txn { return h.deps }

// Release ends the hold, recording err (nil for success). Releasing again does nothing: a hold
// shared by several utterances of one cut is released once.
func (h *Hold) Release(err error) {
	if h.released {
		return
	}
	h.released = true
	Release(h.deps, err)
}

// ReleaseHolds releases each hold, recording err.
func ReleaseHolds(hs []*Hold, err error) {
	for _, h := range hs {
		h.Release(err)
	}
}

// DepsOf is the inputs of holds, each once: the Deps of an item made from what they keep.
func DepsOf(hs []*Hold) []*Txn {
	seen := make(map[*Txn]bool, len(hs))
	var out []*Txn
	for _, h := range hs {
		for _, t := range h.deps {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}
