package pipeline

// FuzzStreamChunks drives the segment stage's stream state machine directly, without NATS: the
// fuzz input is decoded into a configuration, up to three calls and a list of operations
// (chunks delivered in any order, redeliveries, publisher duplicates, gaps, End anywhere, huge
// sequence numbers and offsets, odd byte counts, bad headers, Ticks with a fake clock, downstream
// releases with success or failure, partitions moving away and back), and then into either
// Close or a far-future Tick at the end. Txns are made by a real stages.Tracker, items are
// processed and emitted exactly as the runner does (stages/runner.go: the emitter Retains the
// emitted item's Deps, process Releases the processed item's Deps with its error), and the
// emitted items wait in a simulated downstream until an operation (or the end) releases them.
//
// Properties checked:
//   - no panic (a Retain on a settled Txn panics too: a stage emitting a chunk it already let go);
//   - no input settles while a downstream item or the stage's held chunks still depend on it;
//   - every delivery settles after the stage's Close (or after a Tick far in the future, which
//     must settle everything without Close) and the release of everything downstream, once;
//     Dropped (ErrDuplicate) only when another delivery of the same chunk exists;
//   - an emitted item depends only on chunks of its own call; a summary only follows an End chunk;
//   - an utterance is at most max_utterance long and does not overlap another of its channel
//     (beyond segment.Tolerance) within one emission epoch (below);
//   - sequence gaps (DLQ entries) name a non-empty range of chunks;
//   - no utterance id (wire.UtteranceID of call, channel, start) is emitted twice within one
//     emission epoch of a call. A call's epoch advances when the stage legitimately processes
//     audio it has processed before: a redelivered chunk (Delivered > 1) below the call's next
//     expected chunk (the stage replays the call from it, and replayed utterances keep their
//     ids so that JetStream's dedupe drops them), or a chunk already delivered once reaching a
//     call the stage holds no state for (forgotten after idle, handed back when its partition
//     moved, or first seen mid-stream after a failover). Checking only runs without any duplicate
//     delivery would miss duplicate ids made by the paths that matter most (gaps, replays,
//     take-overs); epochs keep the check on everywhere a replay is not the explanation.
//
// Publishers in the generated inputs are consistent about positions: a call either sends no
// Sentio-Offset with one chunk length, or sends offsets that are the sum of its earlier chunks'
// lengths (from 0, or from just below the largest accepted offset). A publisher sending offsets
// that go backwards makes overlapping utterances by its own doing, so that is not generated.
//
// Run it with
//
//	toolbox/run go test -tags whisper -run XXX -fuzz FuzzStreamChunks -fuzztime 10m -parallel 1 ./pipeline/
//
// A failure prints the operations that led to it; SENTIO_FUZZ_TRACE=1 prints them for passing
// inputs too (go test -run FuzzStreamChunks/<corpus file> -v).

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/segment"
	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// Operation kinds: the low four bits of an operation byte; the high four pick the call (or the
// worker, for ticks).
const (
	fzOpDeliver    = 0 // 0..6: a chunk near the call's newest: args position, flags
	fzOpFill       = 7 // the lowest chunk never sent below the newest: args flags
	fzOpRedeliver  = 8 // a chunk sent before, redelivered: args which
	fzOpRelease    = 9 // one downstream item settles: args which and how
	fzOpReleaseAll = 10
	fzOpTick       = 11 // 11, 12: a Tick after the fake clock advanced: args how far
	fzOpOwn        = 13 // the call's partition moves away, or back
	fzOpBatch      = 14 // new chunks in order: args count, flags
	fzOpReversed   = 15 // new chunks delivered newest first: args count, flags
)

// Chunk flags (the flags argument).
const (
	fzContent  = 3    // 0: the call's speech pattern, 1: silence, 2: tone, 3: at the VAD threshold
	fzEnd      = 4    // Sentio-End: true
	fzOdd      = 8    // one byte too many
	fzEmpty    = 16   // no data
	fzStyle    = 0xe0 // new chunk: 0xe0 bad headers; existing chunk: >= 0xc0 publisher duplicate, else redelivery
	fzMaxOps   = 400
	fzMaxMsgs  = 500
	fzNumCalls = 3
)

var fzCallIDs = [fzNumCalls]string{"c0", "c1", "call-2:x@y"}

// fzInput is a stages.Input recording how it settled.
type fzInput struct {
	id        string
	delivered uint64

	mu                  sync.Mutex
	acks, naks, rejects int
	code                string
}

func (f *fzInput) ID() string        { return f.id }
func (f *fzInput) Delivered() uint64 { return f.delivered }
func (f *fzInput) InProgress() error { return nil }
func (f *fzInput) Ack() error        { f.mu.Lock(); f.acks++; f.mu.Unlock(); return nil }
func (f *fzInput) Nak(time.Duration) error {
	f.mu.Lock()
	f.naks++
	f.mu.Unlock()
	return nil
}
func (f *fzInput) Reject(code, reason, stage string) error {
	f.mu.Lock()
	f.rejects++
	f.code = code + "@" + stage
	f.mu.Unlock()
	return nil
}

// fzLog is the stage's logger: it keeps the sequence gaps the stage reports (the reason of the
// log line is the reason of the gap's DLQ entry) whose range of missing chunks is empty or out
// of range. (Read from the log rather than from a DLQ double, so that the test does not depend on
// the Noticer interface.)
type fzLog struct {
	bad *[]string
}

var fzGapRange = regexp.MustCompile(`^chunks (\d+)\.\.(\d+) `)

func (h fzLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h fzLog) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h fzLog) WithGroup(string) slog.Handler                { return h }
func (h fzLog) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "sequence gap in a stream" {
		return nil
	}
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key != "reason" {
			return true
		}
		m := fzGapRange.FindStringSubmatch(a.Value.String())
		if m == nil {
			return false // worded otherwise: nothing to check
		}
		lo, err1 := strconv.ParseUint(m[1], 10, 64)
		hi, err2 := strconv.ParseUint(m[2], 10, 64)
		if err1 != nil || err2 != nil || lo > hi || hi > wire.MaxSeq {
			*h.bad = append(*h.bad, a.Value.String())
		}
		return false
	})
	return nil
}

type fzCall struct {
	id      string
	worker  int
	codec   wire.Codec
	rate    int
	chans   int
	chunkMS int
	varLen  bool // chunk lengths vary (only with offsets)
	offsets int  // 0: no Sentio-Offset, 1: from 0, 2: from 5 s below the largest accepted
	base    uint64
	period  int // chunks of speech, then as many of silence (content 0)
	msgs    map[int]*fzMsg
	top     int // one past the highest index made
}

type fzMsg struct {
	id       string
	call     *fzCall
	idx      int
	seq      uint64
	end, bad bool
	// placed: the chunk takes its place in its call (good, or bad only after its Sentio-Seq).
	placed     bool
	header     nats.Header
	data       []byte
	deliveries int
}

type fzDelivery struct {
	txn *stages.Txn
	in  *fzInput
	m   *fzMsg
}

type fzRig struct {
	t       *testing.T
	s       *segmentStage
	tr      *stages.Tracker
	badGaps []string
	ctx     context.Context
	now     time.Time
	workers int
	calls   []*fzCall
	owned   map[string]bool
	down    []stages.Item[*Work]
	dels    []*fzDelivery
	byTxn   map[*stages.Txn]*fzDelivery
	byPtr   map[uintptr]*fzDelivery // byTxn by address, for fzHeldTxns
	nmsg    int
	sent    map[string]map[uint64]int    // deliveries per call and sequence number
	epoch   map[string]int               // per call
	ids     map[string]map[string]string // per call: utterance ids of the current epoch
	ends    map[string]bool              // calls that were sent an End chunk
	spans   map[string][][2]int64        // per call and channel: utterances of the current epoch
	maxUtt  int64                        // max_utterance in samples
	trace   []string
}

type fzBytes struct {
	b []byte
	i int
}

func (r *fzBytes) next() byte {
	if r.i >= len(r.b) {
		return 0
	}
	v := r.b[r.i]
	r.i++
	return v
}

func (r *fzBytes) more() bool { return r.i < len(r.b) }

func FuzzStreamChunks(f *testing.F) {
	for _, s := range fzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fzRun(t, data) })
}

func fzRun(t *testing.T, data []byte) {
	in := &fzBytes{b: data}
	b0, b1 := in.next(), in.next()
	maxCall := []int{2, 4, 8, 16, 16, 24, 32, 64}[b0&7] // config validation asks for 16 or more; smaller bounds are fuzzed too
	workers := 1 + int(b0>>3&1)
	pending := 2 * maxCall * []int{1, 2, 3, 8}[b0>>4&3] * workers // valid: at least twice the call bound
	closeFirst := b0&0x80 == 0

	cfg := config.Defaults()
	cfg.Pipeline.MaxCallChunks = maxCall
	cfg.NATS.MaxAckPending = pending
	cfg.Pipeline.SegmentWorkers = workers
	cfg.Pipeline.MaxUtterance = time.Duration(1+b1&7) * 250 * time.Millisecond
	cfg.Pipeline.IdleFlush = time.Duration(1+b1>>3&7) * time.Second
	cfg.NATS.AckWait = []time.Duration{time.Second, 30 * time.Second}[b1>>6&1]

	r := &fzRig{t: t, ctx: context.Background(), now: time.Now(), workers: workers,
		owned: map[string]bool{}, byTxn: map[*stages.Txn]*fzDelivery{}, byPtr: map[uintptr]*fzDelivery{}, sent: map[string]map[uint64]int{},
		epoch: map[string]int{}, ids: map[string]map[string]string{}, ends: map[string]bool{}, spans: map[string][][2]int64{},
		maxUtt: int64(cfg.Pipeline.MaxUtterance) * segment.SampleRate / int64(time.Second)}
	log := slog.New(fzLog{bad: &r.badGaps})
	r.tr = stages.NewTracker(stages.Policy{MaxDeliver: 3}, slog.New(slog.DiscardHandler), nil)
	defer r.tr.Close()
	r.s = newSegmentStage(&cfg, Parts{}, nil, newCallCounter(GapWait(&cfg)), log, newMetrics(nil))
	owns := func(id string) bool { return r.owned[id] }
	r.s.owns.Store(&owns)
	r.note("config: max_call_chunks %d, max_ack_pending %d, workers %d, max_utterance %s, idle %s, gap wait %s, hold %s, close first %v",
		maxCall, pending, workers, cfg.Pipeline.MaxUtterance, r.s.idle, r.s.gapWait, r.s.hold, closeFirst)

	ncalls := 1 + int(in.next())%fzNumCalls
	for i := 0; i < ncalls; i++ {
		p0, p1, p2, p3 := in.next(), in.next(), in.next(), in.next()
		c := &fzCall{id: fzCallIDs[i], codec: []wire.Codec{wire.CodecS16LE, wire.CodecULaw, wire.CodecALaw, wire.CodecS16LE}[p0&3],
			rate: []int{16000, 8000, 11025, 48000}[p0>>2&3], chans: 1 + int(p0>>4&1), offsets: int(p0>>5&3) % 3,
			chunkMS: 1 + int(p1)%40, period: 1 + int(p3)%32, msgs: map[int]*fzMsg{}}
		c.varLen = p1&0x80 != 0 && c.offsets != 0
		switch p2 & 3 {
		case 1:
			c.base = 1 + uint64(p2>>2)%8
		case 2:
			c.base = wire.MaxSeq - uint64(p2>>2)%16
		}
		h := fnv.New32a()
		h.Write([]byte(c.id))
		c.worker = int(h.Sum32() % uint32(workers))
		r.owned[c.id] = true
		r.sent[c.id] = map[uint64]int{}
		r.ids[c.id] = map[string]string{}
		r.calls = append(r.calls, c)
		r.note("call %s: worker %d, %s %d Hz x%d, %d ms chunks (varying %v), offsets %d, first seq %d, period %d",
			c.id, c.worker, c.codec, c.rate, c.chans, c.chunkMS, c.varLen, c.offsets, c.base, c.period)
	}

	for ops := 0; in.more() && ops < fzMaxOps && r.nmsg < fzMaxMsgs; ops++ {
		op := in.next()
		c := r.calls[int(op>>4)%len(r.calls)]
		switch kind := op & 15; {
		case kind < fzOpFill:
			a, fl := in.next(), in.next()
			idx := max(0, c.top+int(a&15)-3)
			if m := c.msgs[idx]; m != nil {
				r.again(m, fl)
			} else {
				r.deliver(r.make(c, idx, fl), 1)
			}
		case kind == fzOpFill:
			fl := in.next()
			for idx := 0; idx < c.top; idx++ {
				if c.msgs[idx] == nil {
					r.deliver(r.make(c, idx, fl), 1)
					break
				}
			}
		case kind == fzOpRedeliver:
			a := in.next()
			if len(c.msgs) > 0 {
				idxs := make([]int, 0, len(c.msgs))
				for idx := range c.msgs {
					idxs = append(idxs, idx)
				}
				sort.Ints(idxs)
				m := c.msgs[idxs[int(a)%len(idxs)]]
				r.deliver(m, uint64(m.deliveries+1))
			}
		case kind == fzOpRelease:
			a := in.next()
			if len(r.down) > 0 {
				r.release(int(a&31)%len(r.down), a>>5)
			}
		case kind == fzOpReleaseAll:
			r.releaseAll()
		case kind == fzOpTick || kind == fzOpTick+1:
			a := in.next()
			adv := []time.Duration{0, 50 * time.Millisecond, time.Second, r.s.idle / 2, r.s.idle, r.s.gapWait, r.s.hold + time.Second, 10 * time.Minute}[a&7]
			r.now = r.now.Add(adv)
			w := int(op>>4) % r.workers
			r.note("tick worker %d at +%s", w, time.Until(r.now).Round(time.Millisecond))
			r.s.Tick(r.ctx, w, r.now, r.emit)
		case kind == fzOpOwn:
			r.owned[c.id] = !r.owned[c.id]
			r.note("call %s owned: %v", c.id, r.owned[c.id])
		case kind == fzOpBatch || kind == fzOpReversed:
			a, fl := in.next(), in.next()
			n := 1 + int(a)%24
			var ms []*fzMsg
			for k := 0; k < n; k++ {
				f := fl & fzContent
				if k == n-1 {
					f |= fl & fzEnd
				}
				ms = append(ms, r.make(c, c.top, f))
			}
			if kind == fzOpReversed {
				for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
					ms[i], ms[j] = ms[j], ms[i]
				}
			}
			for _, m := range ms {
				r.deliver(m, 1)
			}
		}
		r.check()
	}

	r.releaseAll()
	if closeFirst {
		for w := 0; w < r.workers; w++ {
			r.note("close worker %d", w)
			r.s.Close(r.ctx, w, r.emit)
		}
		r.releaseAll()
		r.settledAll("after Close and the release of everything downstream")
	} else {
		// Without Close: a Tick far in the future must start held calls, declare every gap
		// and flush every call, so nothing stays in flight for the life of the process.
		far := r.now
		if now := time.Now(); now.After(far) {
			far = now
		}
		far = far.Add(1000 * time.Hour)
		for w := 0; w < r.workers; w++ {
			r.note("tick worker %d far in the future", w)
			r.s.Tick(r.ctx, w, far, r.emit)
		}
		r.releaseAll()
		r.settledAll("after a Tick far in the future and the release of everything downstream (no Close)")
		for w := 0; w < r.workers; w++ {
			r.s.Close(r.ctx, w, r.emit)
		}
		r.releaseAll()
	}
	for w := 0; w < r.workers; w++ {
		if n := len(r.s.worker(w)); n != 0 && closeFirst {
			r.fail("worker %d keeps %d calls after Close", w, n)
		}
	}
	if len(r.badGaps) > 0 {
		r.fail("sequence gaps with an empty or wrapped range of missing chunks (their DLQ entries say the same):\n%s", strings.Join(r.badGaps, "\n"))
	}
	if os.Getenv("SENTIO_FUZZ_TRACE") != "" {
		t.Logf("trace:\n  %s", strings.Join(r.trace, "\n  "))
	}
}

func (r *fzRig) note(format string, args ...any) {
	if len(r.trace) < 4000 {
		r.trace = append(r.trace, fmt.Sprintf(format, args...))
	}
}

func (r *fzRig) fail(format string, args ...any) {
	r.t.Helper()
	tr := r.trace
	if len(tr) > 400 {
		tr = append([]string{fmt.Sprintf("... %d lines before", len(tr)-400)}, tr[len(tr)-400:]...)
	}
	r.t.Fatalf("%s\ntrace:\n  %s", fmt.Sprintf(format, args...), strings.Join(tr, "\n  "))
}

// make creates the chunk at index idx of call c (a new message: a publisher's).
func (r *fzRig) make(c *fzCall, idx int, fl byte) *fzMsg {
	r.nmsg++
	m := &fzMsg{id: fmt.Sprintf("AUDIO/%d", r.nmsg), call: c, idx: idx, seq: c.base + uint64(idx), end: fl&fzEnd != 0}
	ch := wire.Chunk{CallID: c.id, Seq: m.seq, Codec: c.codec, Rate: c.rate, Channels: c.chans,
		Roles: wire.Roles("agent,customer", c.chans), End: m.end, Offset: -1}
	if c.offsets != 0 {
		ch.Offset = c.offset(idx)
	}
	m.header = ch.Header()
	m.data = c.audio(idx, fl&fzContent)
	if fl&fzEmpty != 0 {
		m.data = nil
	}
	if fl&fzOdd != 0 && (c.offsets != 0 || c.codec.BytesPerSample()*c.chans > 1) {
		// One byte too many: a truncated frame, or with one-byte frames one sample more, which
		// only a call sending offsets may do (without them, chunk lengths must not vary).
		m.data = append(m.data, 0x7f)
	}
	if fl&fzStyle == fzStyle {
		m.bad = true
		switch idx % 4 {
		case 0:
			m.header.Set(wire.HeaderSeq, "x")
		case 1:
			m.header.Set(wire.HeaderCallID, "someone-else")
		case 2:
			m.header.Del(wire.HeaderCodec)
		case 3:
			m.header.Set(wire.HeaderChannels, "1000000")
		}
	}
	// A chunk whose headers are wrong after a valid Sentio-Seq of its own call keeps its place
	// in the call (it is rejected in its turn) like a good one.
	m.placed = !m.bad || idx%4 >= 2
	if old := c.msgs[idx]; old == nil || !m.bad {
		c.msgs[idx] = m
	}
	c.top = max(c.top, idx+1)
	return m
}

// again sends a chunk that was sent before: redelivered, or published again.
func (r *fzRig) again(m *fzMsg, fl byte) {
	if fl&fzStyle < 0xc0 {
		r.deliver(m, uint64(m.deliveries+1))
		return
	}
	r.nmsg++
	dup := *m
	dup.id, dup.deliveries = fmt.Sprintf("AUDIO/%d", r.nmsg), 0
	r.note("publisher duplicate of %s as %s", m.id, dup.id)
	r.deliver(&dup, 1)
}

// samples is the length of chunk idx per channel, at the call's rate.
func (c *fzCall) samples(idx int) int {
	ms := c.chunkMS
	if c.varLen {
		ms = 1 + (idx*7+3)%c.chunkMS
	}
	return max(1, c.rate*ms/1000)
}

// offset is the Sentio-Offset of chunk idx: the sum of the chunks before it.
func (c *fzCall) offset(idx int) int64 {
	var o int64
	if c.offsets == 2 {
		o = int64(wire.MaxCallLength/time.Second)*int64(c.rate) - 5*int64(c.rate)
	}
	for k := 0; k < idx; k++ {
		o += int64(c.samples(k))
	}
	return o
}

// audio is chunk idx's audio: a 300 Hz tone or silence per channel, interleaved, encoded.
func (c *fzCall) audio(idx int, content byte) []byte {
	n := c.samples(idx)
	b := make([]byte, 0, n*c.chans*c.codec.BytesPerSample())
	for i := 0; i < n; i++ {
		for ch := 0; ch < c.chans; ch++ {
			var amp float64
			switch content {
			case 0:
				if (idx/c.period+ch)%2 == 0 {
					amp = 0.5
				}
			case 2:
				amp = 0.5
			case 3:
				amp = 0.008 // about -45 dBFS RMS: the Energy VAD's threshold
			}
			v := int16(amp * 32767 * math.Sin(2*math.Pi*300*float64(idx*n+i)/float64(c.rate)))
			switch c.codec {
			case wire.CodecULaw:
				b = append(b, fzULaw(v))
			case wire.CodecALaw:
				b = append(b, fzALaw(v))
			default:
				b = binary.LittleEndian.AppendUint16(b, uint16(v))
			}
		}
	}
	return b
}

func fzULaw(s int16) byte {
	v, sign := int(s), 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, 32635) + 0x84
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	return ^byte(sign | exp<<4 | (v>>(exp+3))&0x0f)
}

func fzALaw(s int16) byte {
	v, sign := int(s), 0x80
	if v < 0 {
		v, sign = -v-1, 0
	}
	var out int
	if v < 256 {
		out = v >> 4
	} else {
		exp := 1
		for x := v >> 8; x > 1; x >>= 1 {
			exp++
		}
		out = exp<<4 | (v>>(exp+3))&0x0f
	}
	return byte(out|sign) ^ 0x55
}

// deliver hands one delivery of m to the stage as the runner does, with Delivered d.
func (r *fzRig) deliver(m *fzMsg, d uint64) {
	c := m.call
	m.deliveries++
	in := &fzInput{id: m.id, delivered: d}
	txn := r.tr.Begin(in)
	del := &fzDelivery{txn: txn, in: in, m: m}
	r.dels = append(r.dels, del)
	r.byTxn[txn] = del
	r.byPtr[reflect.ValueOf(txn).Pointer()] = del
	if m.placed {
		st := r.s.worker(c.worker)[c.id]
		replay := st != nil && st.holdUntil.IsZero() && m.seq < st.expected && d > 1
		if replay || (st == nil && r.sent[c.id][m.seq] > 0) {
			r.epoch[c.id]++
			r.ids[c.id] = map[string]string{}
			for ch := 0; ch < wire.MaxChannels; ch++ {
				delete(r.spans, fmt.Sprintf("%s/%d", c.id, ch))
			}
			r.note("call %s: epoch %d (replay %v)", c.id, r.epoch[c.id], replay)
		}
		r.sent[c.id][m.seq]++
	}
	if m.end {
		r.ends[c.id] = true
	}
	h := nats.Header{}
	for k, v := range m.header {
		h[k] = append([]string(nil), v...)
	}
	it := stages.Item[*Work]{V: &Work{Msg: &Message{Subject: wire.Subject("sentio.audio", c.id), Header: h, Data: m.data, Delivered: d}},
		Deps: []*stages.Txn{txn}, Key: c.id}
	err := r.s.Process(r.ctx, c.worker, it, r.emit)
	r.note("deliver %s call %s seq %d (idx %d) D=%d end %v bad %v bytes %d: %v", m.id, c.id, m.seq, m.idx, d, m.end, m.bad, len(m.data), err)
	var rej *stages.Rejection
	switch {
	case err == nil:
	case errors.As(err, &rej):
		if rej.Stage == "" {
			rej.Stage = StageSegment
		}
	case errors.Is(err, stages.ErrAbandoned) || errors.Is(err, stages.ErrDuplicate):
	default:
		err = &stages.StageError{Stage: StageSegment, Err: err}
	}
	stages.Release(it.Deps, err)
}

// emit is the runner's emitter: the item takes its own references and waits downstream.
func (r *fzRig) emit(it stages.Item[*Work]) {
	stages.Retain(it.Deps) // panics when a Dep has settled already
	w := it.V
	if len(it.Deps) == 0 {
		r.fail("item for call %s emitted without inputs", w.CallID)
	}
	for _, t := range it.Deps {
		if del := r.byTxn[t]; del == nil || del.m.call.id != w.CallID {
			r.fail("item for call %s depends on an input of another call (%v)", w.CallID, del != nil)
		}
	}
	if w.Summary {
		if !r.ends[w.CallID] || w.Mode != wire.ModeStream || !it.Always {
			r.fail("summary of call %s (mode %s, always %v) without an End chunk", w.CallID, w.Mode, it.Always)
		}
		r.note("  summary %s", w.CallID)
	} else {
		if w.Mode != wire.ModeStream || len(w.PCM) == 0 || w.Start < 0 {
			r.fail("bad utterance: call %s mode %s start %d, %d samples", w.CallID, w.Mode, w.Start, len(w.PCM))
		}
		id := wire.UtteranceID(w.CallID, w.Channel, w.Start)
		where := fmt.Sprintf("call %s channel %d start %d (%d samples, %d inputs)", w.CallID, w.Channel, w.Start, len(w.PCM), len(it.Deps))
		if prev, dup := r.ids[w.CallID][id]; dup {
			r.fail("utterance id %s emitted twice in epoch %d of call %s: %s, then %s", id, r.epoch[w.CallID], w.CallID, prev, where)
		}
		r.ids[w.CallID][id] = where
		if n := int64(len(w.PCM)); n > r.maxUtt {
			r.fail("utterance %s is %d samples long; max_utterance is %d", where, n, r.maxUtt)
		}
		// Utterances of one channel do not overlap (beyond the rounding of positions that
		// segment.Tolerance allows), or the same audio would be transcribed twice.
		k := fmt.Sprintf("%s/%d", w.CallID, w.Channel)
		end := w.Start + int64(len(w.PCM))
		for _, span := range r.spans[k] {
			if w.Start < span[1]-segment.Tolerance && span[0] < end-segment.Tolerance {
				r.fail("utterance %s overlaps [%d, %d) emitted before in epoch %d", where, span[0], span[1], r.epoch[w.CallID])
			}
		}
		r.spans[k] = append(r.spans[k], [2]int64{w.Start, end})
		r.note("  utterance %s", where)
	}
	r.down = append(r.down, it)
}

// release settles downstream item i: published (how < 5), failed, rejected or abandoned.
func (r *fzRig) release(i int, how byte) {
	it := r.down[i]
	r.down = append(r.down[:i], r.down[i+1:]...)
	var err error
	switch how {
	case 5:
		err = &stages.StageError{Stage: StageASR, Err: errors.New("fuzz: transient failure")}
	case 6:
		err = stages.Reject(wire.ReasonInternal, "fuzz: rejected downstream")
	case 7:
		err = stages.ErrAbandoned
	}
	r.note("release downstream item of call %s (summary %v) with %v", it.V.CallID, it.V.Summary, err)
	stages.Release(it.Deps, err)
}

func (r *fzRig) releaseAll() {
	for len(r.down) > 0 {
		r.release(0, 0)
	}
}

// check: no input settled while something downstream, or a chunk the stage holds, depends on it.
func (r *fzRig) check() {
	if len(r.badGaps) > 0 {
		r.fail("sequence gaps with an empty or wrapped range of missing chunks (their DLQ entries say the same):\n%s", strings.Join(r.badGaps, "\n"))
	}
	for _, it := range r.down {
		for _, t := range it.Deps {
			select {
			case <-t.Done():
				r.fail("input %s settled (%s) while a downstream item of call %s still depends on it",
					r.byTxn[t].m.id, t.Outcome(), it.V.CallID)
			default:
			}
		}
	}
	for w := 0; w < r.workers; w++ {
		for id, st := range r.s.worker(w) {
			fzHeldTxns(reflect.ValueOf(st), map[fzSeen]bool{}, func(p uintptr) {
				d := r.byPtr[p]
				if d == nil {
					r.fail("call %s holds an input that was never delivered", id)
				}
				t := d.txn
				select {
				case <-t.Done():
					r.fail("input %s settled (%s) while call %s still holds it", r.byTxn[t].m.id, t.Outcome(), id)
				default:
				}
			})
		}
	}
}

type fzSeen struct {
	p uintptr
	t reflect.Type
}

var (
	fzTxnType  = reflect.TypeFor[*stages.Txn]()
	fzStages   = fzTxnType.Elem().PkgPath()
	fzTimeType = reflect.TypeFor[time.Time]()
)

// fzHeldTxns calls found for every Txn a call's state holds: its reorder buffer, its channels'
// buffered chunks, whatever shape they take, found by reflection (a released stages.Hold holds
// nothing).
func fzHeldTxns(v reflect.Value, seen map[fzSeen]bool, found func(txn uintptr)) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if v.Type() == fzTxnType {
			found(v.Pointer())
			return
		}
		k := fzSeen{v.Pointer(), v.Type()}
		if seen[k] {
			return
		}
		seen[k] = true
		if e := v.Type().Elem(); e.Name() == "Hold" && e.PkgPath() == fzStages { // stages.Hold
			if f := v.Elem().FieldByName("released"); f.IsValid() && f.Kind() == reflect.Bool && f.Bool() {
				return
			}
		}
		fzHeldTxns(v.Elem(), seen, found)
	case reflect.Interface:
		if !v.IsNil() {
			fzHeldTxns(v.Elem(), seen, found)
		}
	case reflect.Struct:
		if v.Type() == fzTimeType {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			fzHeldTxns(v.Field(i), seen, found)
		}
	case reflect.Slice, reflect.Array:
		switch v.Type().Elem().Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Struct, reflect.Slice, reflect.Array, reflect.Map:
			for i := 0; i < v.Len(); i++ {
				fzHeldTxns(v.Index(i), seen, found)
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			fzHeldTxns(it.Value(), seen, found)
		}
	}
}

// settledAll: every delivery settled, once, and the tracker holds none.
func (r *fzRig) settledAll(when string) {
	for _, d := range r.dels {
		select {
		case <-d.txn.Done():
		default:
			r.fail("%s: delivery of %s (call %s seq %d, Delivered %d) never settled", when, d.m.id, d.m.call.id, d.m.seq, d.in.delivered)
		}
		d.in.mu.Lock()
		n := d.in.acks + d.in.naks + d.in.rejects
		d.in.mu.Unlock()
		switch o := d.txn.Outcome(); {
		case o == stages.Dropped:
			if n != 0 || r.sent[d.m.call.id][d.m.seq] < 2 {
				r.fail("%s: delivery of %s dropped as a duplicate (settled %d times) without another delivery of its chunk", when, d.m.id, n)
			}
		case n != 1:
			r.fail("%s: delivery of %s settled %d times (%s)", when, d.m.id, n, o)
		}
	}
	if n := r.tr.Live(); n != 0 {
		r.fail("%s: the tracker still holds %d inputs", when, n)
	}
}

// fzSeeds are meaningful inputs to start from.
func fzSeeds() [][]byte {
	// A call: s16 at 16 kHz, mono, 20 ms chunks, no offsets, from seq 0, speech 600 ms on and off.
	plain := [4]byte{0, 19, 0, 29}
	seed := func(cfg0, cfg1 byte, calls [][4]byte, ops ...byte) []byte {
		b := []byte{cfg0, cfg1, byte(len(calls) - 1)}
		for _, c := range calls {
			b = append(b, c[:]...)
		}
		return append(b, ops...)
	}
	batch := func(call, n, fl byte) []byte { return []byte{fzOpBatch | call<<4, n - 1, fl} }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	tick := func(w, how byte) []byte { return []byte{fzOpTick | w<<4, how} }
	releaseAll := []byte{fzOpReleaseAll}
	var seeds [][]byte
	// In order, End at the last chunk.
	seeds = append(seeds, seed(0x07, 0x07, [][4]byte{plain},
		cat(batch(0, 24, 0), batch(0, 24, 0), batch(0, 24, 0), batch(0, 10, fzEnd), releaseAll, tick(0, 7))...))
	// Reversed in groups, with a Tick far in the future at the end instead of Close.
	seeds = append(seeds, seed(0x87, 0x07, [][4]byte{plain},
		cat([]byte{fzOpReversed, 7, 0, fzOpReversed, 7, 0, fzOpReversed, 7, 0, fzOpReversed, 7, 0}, batch(0, 20, 0), tick(0, 5))...))
	// End first: chunk 5 with End, then 0..4.
	seeds = append(seeds, seed(0x07, 0x07, [][4]byte{{0, 39, 0, 3}},
		fzOpDeliver, 3+5, fzContent&2|fzEnd, fzOpFill, 2, fzOpFill, 2, fzOpFill, 2, fzOpFill, 2, fzOpFill, 0, fzOpReleaseAll))
	// Duplicates: a chunk redelivered after it was applied (replay), one redelivered while held,
	// a publisher duplicate.
	seeds = append(seeds, seed(0x02, 0x07, [][4]byte{plain},
		cat(batch(0, 24, 0), []byte{fzOpRedeliver, 3, fzOpDeliver, 3 + 2, 0, fzOpDeliver, 3 - 1, 0, fzOpDeliver, 0, 0xc0},
			batch(0, 24, 0), []byte{fzOpRelease, 0xa0, fzOpRedeliver, 10}, batch(0, 5, fzEnd))...))
	// A gap: chunk 4 missing, declared lost after the gap wait, then arriving late.
	seeds = append(seeds, seed(0x85, 0x07, [][4]byte{plain},
		cat(batch(0, 4, 0), []byte{fzOpDeliver, 3 + 1, 0}, batch(0, 20, 0), tick(0, 5), []byte{fzOpFill, 0}, batch(0, 3, fzEnd))...))
	// Three calls interleaved on two workers, different layouts, partition moving away and back.
	seeds = append(seeds, seed(0x1f, 0x12, [][4]byte{plain, {0x15, 9, 1, 10}, {0x22 | 0x10, 0x80 | 29, 0, 5}},
		cat(batch(0, 8, 0), batch(1, 8, 2), batch(2, 8, 0), batch(0, 8, 0), []byte{fzOpOwn | 1<<4}, tick(1, 2), tick(0, 2),
			[]byte{fzOpOwn | 1<<4}, batch(1, 8, 2), batch(2, 8, fzEnd), batch(0, 8, fzEnd), batch(1, 1, fzEnd))...))
	// Huge sequence numbers and offsets: from MaxSeq-3, offsets from 5 s below the largest.
	seeds = append(seeds, seed(0x03, 0x07, [][4]byte{{0x40, 39, 2 | 3<<2, 4}},
		cat(batch(0, 10, 0), tick(0, 6), []byte{fzOpDeliver, 3, fzOdd, fzOpDeliver, 3, fzEmpty | fzEnd})...))
	// A call first seen mid-stream (seq 5 first), 1 ms chunks, odd bytes and bad headers.
	seeds = append(seeds, seed(0x04, 0x00, [][4]byte{{0, 0, 1 | 4<<2, 0}},
		cat([]byte{fzOpDeliver, 3 + 3, 2, fzOpDeliver, 3, fzOdd | 2, fzOpDeliver, 3, 0xe0}, batch(0, 24, 2), tick(0, 6), batch(0, 24, 1), tick(0, 4))...))
	// Two calls on one worker together over the worker's budget (half of max_ack_pending): a
	// Tick cuts the larger one early.
	seeds = append(seeds, seed(0x03, 0x07, [][4]byte{plain, plain},
		cat(batch(0, 10, 0), batch(1, 10, 0), tick(0, 0), batch(0, 10, 0), batch(1, 10, 0), tick(0, 1))...))
	// Long silence before speech in 40 ms chunks: the onset window releases the oldest chunks.
	seeds = append(seeds, seed(0x07, 0x07, [][4]byte{{0, 39, 0, 3}},
		cat(batch(0, 24, 1), batch(0, 24, 1), batch(0, 24, 2), batch(0, 24, 1), batch(0, 3, 1|fzEnd))...))
	return seeds
}
