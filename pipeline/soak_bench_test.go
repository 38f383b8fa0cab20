package pipeline

// Soak benchmarks (issue 10, "Tests and figures"): many concurrent real-time streams of calls
// that come and go, for a long time, with the pipeline, its NATS server and the publishers in this
// process. Every minute they sample the process (RSS, goroutines), the pipeline (inputs in
// flight), the consumers on the streams and the flow of results; at the end they match every
// result against the utterances that were sent (lost, doubled, summaries).
//
// They are benchmarks that run once, not timed tests, and skip unless their duration is set:
//
//	SENTIO_SOAK=30m              BenchmarkSoak: test doubles for the models (this file)
//	SENTIO_SOAK_REAL=10m         BenchmarkSoakReal: whisper.cpp, Silero, ONNX (soak_real_bench_test.go)
//	SENTIO_SOAK_STREAMS=20       concurrent streams of BenchmarkSoak (default 20)
//	SENTIO_SOAK_REAL_STREAMS=2   concurrent streams of BenchmarkSoakReal (default 2)
//	SENTIO_SOAK_OUT=path         the per-minute samples (TSV); default a file in t.TempDir. Give a
//	                             path under the repository when running in the toolbox, whose /tmp
//	                             is private to the run. Every sample is also printed to stderr.
//
//	toolbox/run env SENTIO_SOAK=30m go test -tags whisper -run '^$' -bench 'BenchmarkSoak$' \
//	    -benchtime 1x -timeout 0 ./pipeline/
//
// bench/soak.sh runs them in the background and records the commit.

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/zaf/g711"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/wire"
)

// soakFrame is the length of every chunk: one RTP packet of telephony.
const soakFrame = 20 * time.Millisecond

// soakEnv reads a duration from the environment; the benchmark is skipped when it is unset.
func soakEnv(b *testing.B, name string) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		b.Skipf("soak benchmark: set %s (e.g. %s=30m) to run it", name, name)
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q is not a positive duration", name, v)
	}
	return d
}

func soakInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q is not a positive integer", name, v)
	}
	return n
}

// soakConfig puts back the daemon's production values that the test configuration shortens for
// quick tests (queues, ack wait, deliveries, idle flush): a soak measures what production runs.
func soakConfig(cfg *config.Config) *config.Config {
	d := config.Defaults()
	cfg.NATS.AckWait = d.NATS.AckWait
	cfg.NATS.MaxDeliver = d.NATS.MaxDeliver
	cfg.Pipeline.QueueSize = d.Pipeline.QueueSize
	cfg.Pipeline.IdleFlush = d.Pipeline.IdleFlush
	return cfg
}

// soakBurst is one utterance sent: its channel and its speech, in ms from the call's start.
type soakBurst struct {
	ch         int
	start, end int64
}

// soakCall is one call of a stream: its frames, ready to publish, and the utterances in them.
type soakCall struct {
	id       string
	lane     int
	codec    wire.Codec
	rate     int
	channels int
	roles    []string
	bursts   []soakBurst
	frames   [][]byte // encoded audio of each 20 ms frame (all channels interleaved)
	lengthMS int64

	started, ended time.Time // wall time of the first frame sent, of the End frame sent
}

// soakGen makes call n of stream lane.
type soakGen func(lane, n int, rng *rand.Rand) *soakCall

// frameAudio cuts per-channel audio at rate into encoded 20 ms frames.
func frameAudio(c *soakCall, pcm [][]float32) {
	per := c.rate * int(soakFrame/time.Millisecond) / 1000
	n := len(pcm[0])
	c.lengthMS = int64(n) * 1000 / int64(c.rate)
	for i := 0; i*per < n; i++ {
		end := min((i+1)*per, n)
		inter := make([]float32, 0, (end-i*per)*c.channels)
		for k := i * per; k < end; k++ {
			for ch := 0; ch < c.channels; ch++ {
				inter = append(inter, pcm[ch][k])
			}
		}
		data := s16(inter)
		if c.codec == wire.CodecULaw {
			data = g711.EncodeUlaw(data)
		}
		c.frames = append(c.frames, data)
	}
}

// speechLike writes a voiced burst into pcm[from:to] at rate: a harmonic complex on a gliding
// pitch with a syllable-rate envelope, so the level varies like speech but never drops to silence
// for longer than a syllable.
func speechLike(pcm []float32, rate, from, to int, rng *rand.Rand) {
	f0 := 100 + 150*rng.Float64()
	amp := 0.2 + 0.2*rng.Float64()
	syl := 3.5 + 2.5*rng.Float64()
	ramp := rate / 50
	var phase float64
	for k := from; k < to && k < len(pcm); k++ {
		t := float64(k-from) / float64(rate)
		f := f0 * (1 + 0.08*math.Sin(2*math.Pi*0.7*t))
		phase += 2 * math.Pi * f / float64(rate)
		v := math.Sin(phase) + math.Sin(2*phase)/2 + math.Sin(3*phase)/3 + math.Sin(4*phase)/4
		env := 0.35 + 0.65*math.Abs(math.Sin(math.Pi*syl*t))
		if d := min(k-from, to-1-k); d < ramp {
			env *= float64(d) / float64(ramp)
		}
		pcm[k] += float32(amp * env * v / 2.1)
	}
}

// noiseFloor is line noise far below the VAD threshold (about -65 dBFS).
func noiseFloor(pcm []float32, rng *rand.Rand) {
	for k := range pcm {
		pcm[k] = float32(0.001 * (2*rng.Float64() - 1))
	}
}

// fakeCall is a call for the test-double models: 3 to 7 speech-like bursts of 0.6 to 4 s with
// pauses of 0.8 to 3 s, in one of three telephony shapes by lane: pcm_s16le 16 kHz mono, G.711
// µ-law 8 kHz mono, or pcm_s16le 16 kHz stereo with agent and customer taking turns.
func fakeCall(tag string) soakGen {
	return func(lane, n int, rng *rand.Rand) *soakCall {
		c := &soakCall{id: fmt.Sprintf("soak-%s-l%02d-c%04d", tag, lane, n), lane: lane,
			codec: wire.CodecS16LE, rate: 16000, channels: 1, roles: []string{"customer"}}
		switch lane % 4 {
		case 1, 2:
			c.codec, c.rate = wire.CodecULaw, 8000
		case 3:
			c.channels, c.roles = 2, []string{"agent", "customer"}
		}
		ms := func(lo, hi int) int64 { return int64(lo + rng.Intn(hi-lo+1)) }
		at := ms(300, 1500)
		first := rng.Intn(2)
		for i, k := 0, 3+rng.Intn(5); i < k; i++ {
			d := ms(600, 4000)
			c.bursts = append(c.bursts, soakBurst{ch: (first + i) % c.channels, start: at, end: at + d})
			at += d + ms(800, 3000)
		}
		total := c.bursts[len(c.bursts)-1].end + ms(500, 1500)
		samples := int(total) * c.rate / 1000
		pcm := make([][]float32, c.channels)
		for ch := range pcm {
			pcm[ch] = make([]float32, samples)
			noiseFloor(pcm[ch], rng)
		}
		for _, x := range c.bursts {
			speechLike(pcm[x.ch], c.rate, int(x.start)*c.rate/1000, int(x.end)*c.rate/1000, rng)
		}
		frameAudio(c, pcm)
		return c
	}
}

// soak drives one soak run.
type soak struct {
	b       *testing.B
	r       *rig
	name    string
	streams int
	dur     time.Duration
	gen     soakGen
	settle  time.Duration
	seed    int64

	start  time.Time
	stopAt time.Time
	out    *bufio.Writer
	outF   *os.File

	mu        sync.Mutex
	calls     map[string]*soakCall
	order     []*soakCall
	ended     int
	wire      map[string]int // utterance id -> times seen on the wire
	summaries map[string]int // call id -> summaries seen on the wire
	lat       []float64      // result latency since the last sample (ms from the end of its audio)
	latAll    []float64
	sumLat    []float64 // summary latency (ms from the End frame)

	paceLag   atomic.Int64 // worst lateness of a frame since the last sample, µs
	paceAll   atomic.Int64
	pubErrors atomic.Int64
	framesOut atomic.Int64

	lastCPU  float64
	lastWall time.Time
	samples  []soakSample
}

type soakSample struct {
	phase                           string
	at                              time.Duration
	rssKB, heapKB                   int64
	goroutines                      int
	inFlight                        float64
	live                            int
	ackPending, redelivered         int
	pending                         uint64
	consAudio, consResults, consDLQ int
	consAll                         int
	audioMsgs, audioBytes           uint64
	resultMsgs, dlqMsgs             uint64
	callsStarted, callsEnded        int
	results, summaries              int
	latP50, latP95, latMax          float64
	paceLagMS                       float64
	cpuPct                          float64
	load1                           string
	frames, pubErrors               int64
	streams                         int
	kvCalls                         uint64
	problems                        string
}

func procStatus(key string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key+":") {
			f := strings.Fields(l[len(key)+1:])
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return -1
}

// procCPU is this process's user + system CPU time in seconds.
func procCPU() float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

func gaugeSum(reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var s float64
		for _, m := range mf.GetMetric() {
			if g := m.GetGauge(); g != nil {
				s += g.GetValue()
			}
		}
		return s
	}
	return -1
}

// counterLabels is a counter vector as label=value pairs ("-" when it has none).
func counterLabels(reg *prometheus.Registry, name string) string {
	mfs, err := reg.Gather()
	if err != nil {
		return "?"
	}
	var out []string
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var l []string
			for _, lp := range m.GetLabel() {
				l = append(l, lp.GetValue())
			}
			out = append(out, fmt.Sprintf("%s=%.0f", strings.Join(l, ","), m.GetCounter().GetValue()))
		}
	}
	if len(out) == 0 {
		return "-"
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func pctOf(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return pct(s, p)
}

func (s *soak) streamInfo(name string) (consumers int, msgs, bytes uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := s.r.js.Stream(ctx, name)
	if err != nil {
		return -1, 0, 0
	}
	info, err := st.Info(ctx)
	if err != nil {
		return -1, 0, 0
	}
	return info.State.Consumers, info.State.Msgs, info.State.Bytes
}

// consumerTotals is rig.totals without failing from a goroutine.
func (s *soak) consumerTotals() (ackPending, redelivered int, pending uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for p := 0; p < bus.Partitions; p++ {
		c, err := s.r.js.Consumer(ctx, s.r.cfg.NATS.AudioStream, bus.ConsumerName(s.r.cfg.NATS, p))
		if err != nil {
			return -1, -1, 0
		}
		info, err := c.Info(ctx)
		if err != nil {
			return -1, -1, 0
		}
		ackPending += info.NumAckPending
		redelivered += info.NumRedelivered
		pending += info.NumPending
	}
	return
}

func (s *soak) sample(phase string) soakSample {
	x := soakSample{phase: phase, at: time.Since(s.start)}
	x.rssKB = procStatus("VmRSS")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	x.heapKB = int64(ms.HeapInuse / 1024)
	x.goroutines = runtime.NumGoroutine()
	x.inFlight = gaugeSum(s.r.reg, "sentio_pipeline_inputs_in_flight")
	x.live = s.r.comp.p.Tracker.Live()
	x.ackPending, x.redelivered, x.pending = s.consumerTotals()
	x.consAudio, x.audioMsgs, x.audioBytes = s.streamInfo(s.r.cfg.NATS.AudioStream)
	x.consResults, x.resultMsgs, _ = s.streamInfo(s.r.cfg.NATS.ResultStream)
	x.consDLQ, x.dlqMsgs, _ = s.streamInfo(s.r.cfg.NATS.DLQStream)
	_, x.kvCalls, _ = s.streamInfo("KV_" + bus.CallsBucket)
	x.problems = counterLabels(s.r.reg, "sentio_segment_chunk_problems_total")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if ai, err := s.r.js.AccountInfo(ctx); err == nil {
		x.consAll, x.streams = ai.Consumers, ai.Streams
	} else {
		x.consAll, x.streams = -1, -1
	}
	cancel()
	s.mu.Lock()
	x.callsStarted, x.callsEnded = len(s.order), s.ended
	for _, n := range s.wire {
		x.results += n
	}
	for _, n := range s.summaries {
		x.summaries += n
	}
	x.latP50, x.latP95 = pctOf(s.lat, 0.5), pctOf(s.lat, 0.95)
	for _, v := range s.lat {
		x.latMax = max(x.latMax, v)
	}
	s.lat = s.lat[:0]
	s.mu.Unlock()
	x.paceLagMS = float64(s.paceLag.Swap(0)) / 1000
	cpu, now := procCPU(), time.Now()
	if !s.lastWall.IsZero() {
		x.cpuPct = 100 * (cpu - s.lastCPU) / now.Sub(s.lastWall).Seconds()
	}
	s.lastCPU, s.lastWall = cpu, now
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		x.load1 = strings.Fields(string(b))[0]
	}
	x.frames, x.pubErrors = s.framesOut.Load(), s.pubErrors.Load()
	s.samples = append(s.samples, x)
	s.write(x)
	if phase == "start" || phase == "end" {
		s.dumpGoroutines(phase)
	}
	return x
}

// dumpGoroutines writes the goroutines' stacks (grouped) beside the samples, to tell what a
// difference in their count is.
func (s *soak) dumpGoroutines(phase string) {
	f, err := os.Create(strings.TrimSuffix(s.outF.Name(), ".tsv") + ".goroutines-" + phase + ".txt")
	if err != nil {
		return
	}
	defer f.Close()
	_ = pprof.Lookup("goroutine").WriteTo(f, 1)
}

const soakHeader = "run\tphase\tt_s\trss_kb\theap_inuse_kb\tgoroutines\tinputs_in_flight\ttracker_live\tack_pending\tredelivered\tnum_pending\t" +
	"consumers_audio\tconsumers_results\tconsumers_dlq\tconsumers_account\taudio_msgs\taudio_bytes\tresult_msgs\tdlq_msgs\t" +
	"calls_started\tcalls_ended\tresults_seen\tsummaries_seen\tlat_p50_ms\tlat_p95_ms\tlat_max_ms\tpace_lag_max_ms\tcpu_pct\tload1\tframes_sent\tpublish_errors\tstreams\tcalls_kv_msgs\tchunk_problems"

func (s *soak) write(x soakSample) {
	line := fmt.Sprintf("%s\t%s\t%.0f\t%d\t%d\t%d\t%.0f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.1f\t%.0f\t%s\t%d\t%d\t%d\t%d\t%s",
		s.name, x.phase, x.at.Seconds(), x.rssKB, x.heapKB, x.goroutines, x.inFlight, x.live, x.ackPending, x.redelivered, x.pending,
		x.consAudio, x.consResults, x.consDLQ, x.consAll, x.audioMsgs, x.audioBytes, x.resultMsgs, x.dlqMsgs,
		x.callsStarted, x.callsEnded, x.results, x.summaries, x.latP50, x.latP95, x.latMax, x.paceLagMS, x.cpuPct, x.load1, x.frames, x.pubErrors, x.streams, x.kvCalls, x.problems)
	fmt.Fprintln(os.Stderr, "soak-sample\t"+line)
	fmt.Fprintln(s.out, line)
	s.out.Flush()
}

// onResult tallies what the daemon publishes, as any subscriber sees it (before the results
// stream's dedupe: a result published twice is seen twice here).
func (s *soak) onResult(m *nats.Msg) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasSuffix(m.Subject, "."+wire.SummarySuffix) {
		var sum wire.Summary
		if json.Unmarshal(m.Data, &sum) == nil {
			s.summaries[sum.CallID]++
			if c := s.calls[sum.CallID]; c != nil && !c.ended.IsZero() {
				s.sumLat = append(s.sumLat, float64(now.Sub(c.ended).Microseconds())/1000)
			}
		}
		return
	}
	var r wire.Result
	if json.Unmarshal(m.Data, &r) != nil {
		return
	}
	s.wire[r.UtteranceID]++
	if c := s.calls[r.CallID]; c != nil && !c.started.IsZero() {
		// The audio at EndMS was sent EndMS after the first frame (real-time pacing).
		l := float64(now.Sub(c.started.Add(time.Duration(r.EndMS)*time.Millisecond)).Microseconds()) / 1000
		s.lat = append(s.lat, l)
		s.latAll = append(s.latAll, l)
	}
}

func (s *soak) publish(c *soakCall, seq int, last bool) error {
	per := int64(c.rate) * int64(soakFrame/time.Millisecond) / 1000
	ch := wire.Chunk{CallID: c.id, Seq: uint64(seq), Codec: c.codec, Rate: c.rate, Channels: c.channels,
		Roles: c.roles, End: last, Offset: int64(seq) * per}
	m := nats.NewMsg(wire.Subject(s.r.cfg.NATS.AudioSubject, c.id))
	m.Header = ch.Header()
	m.Data = c.frames[seq]
	var err error
	for try := 0; try < 3; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = s.r.js.PublishMsg(ctx, m)
		cancel()
		if err == nil {
			s.framesOut.Add(1)
			return nil
		}
		s.pubErrors.Add(1)
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// lane is one stream: calls one after the other, each paced in real time, until the soak's
// duration is over (the call in progress then ends normally).
func (s *soak) lane(lane int, wg *sync.WaitGroup) {
	defer wg.Done()
	rng := rand.New(rand.NewSource(s.seed + int64(lane)*7919))
	// Streams start spread over the first seconds, as calls would.
	time.Sleep(time.Duration(rng.Int63n(int64(3 * time.Second))))
	for n := 0; time.Now().Before(s.stopAt); n++ {
		c := s.gen(lane, n, rng)
		s.mu.Lock()
		s.calls[c.id] = c
		s.order = append(s.order, c)
		s.mu.Unlock()
		start := time.Now()
		s.mu.Lock()
		c.started = start
		s.mu.Unlock()
		for i := range c.frames {
			due := start.Add(time.Duration(i) * soakFrame)
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			} else {
				lag := -d.Microseconds()
				for {
					old := s.paceLag.Load()
					if lag <= old || s.paceLag.CompareAndSwap(old, lag) {
						break
					}
				}
				if lag > s.paceAll.Load() {
					s.paceAll.Store(lag)
				}
			}
			if err := s.publish(c, i, i == len(c.frames)-1); err != nil {
				fmt.Fprintf(os.Stderr, "soak: %s frame %d not published: %v\n", c.id, i, err)
			}
		}
		s.mu.Lock()
		c.ended = time.Now()
		c.frames = nil
		s.ended++
		s.mu.Unlock()
		time.Sleep(time.Duration(200+rng.Intn(2800)) * time.Millisecond)
	}
}

// readAll reads every message of a stream back (after the run: the authoritative record).
func readAll(js jetstream.JetStream, stream string, want uint64, timeout time.Duration) ([]jetstream.Msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	var got []jetstream.Msg
	for uint64(len(got)) < want && ctx.Err() == nil {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return got, err
		}
		for m := range batch.Messages() {
			got = append(got, m)
		}
	}
	return got, nil
}

// soakTally is the end-of-run accounting.
type soakTally struct {
	calls, callsEnded                  int
	expected, published                int
	lost, doubledID, overlapping       int
	split, merged, spurious            int
	summariesExp, summariesPub, sumDup int
	summaryMismatch                    int
	wireRepublished                    int
	dlq                                int
	dlqReasons                         map[string]int
	lostExamples, doubledExamples      []string
	callsWithNoResult                  int
	splitExamples                      []string
	flushedCalls, flushes              int
	flushExamples                      []string
	streams                            []string
}

func (s *soak) tally() soakTally {
	b := s.b
	t := soakTally{dlqReasons: map[string]int{}}
	// Before this accounting's own consumers exist.
	lister := s.r.js.ListStreams(context.Background())
	for si := range lister.Info() {
		t.streams = append(t.streams, fmt.Sprintf("%s %d msgs %d bytes %d consumers", si.Config.Name, si.State.Msgs, si.State.Bytes, si.State.Consumers))
	}
	sort.Strings(t.streams)
	_, resMsgs, _ := s.streamInfo(s.r.cfg.NATS.ResultStream)
	msgs, err := readAll(s.r.js, s.r.cfg.NATS.ResultStream, resMsgs, 5*time.Minute)
	if err != nil {
		b.Errorf("reading the results stream back: %v (%d of %d)", err, len(msgs), resMsgs)
	}
	perCall := map[string][]wire.Result{}
	ids := map[string]int{}
	summ := map[string][]wire.Summary{}
	for _, m := range msgs {
		if err := wire.Validate(m.Data()); err != nil {
			b.Errorf("a published message fails schema v1: %v\n%s", err, m.Data())
		}
		if strings.HasSuffix(m.Subject(), "."+wire.SummarySuffix) {
			var sm wire.Summary
			_ = json.Unmarshal(m.Data(), &sm)
			summ[sm.CallID] = append(summ[sm.CallID], sm)
			continue
		}
		var r wire.Result
		if err := json.Unmarshal(m.Data(), &r); err != nil {
			b.Errorf("undecodable result: %v", err)
			continue
		}
		ids[r.UtteranceID]++
		perCall[r.CallID] = append(perCall[r.CallID], r)
		t.published++
	}
	for id, n := range ids {
		if n > 1 {
			t.doubledID += n - 1
			t.doubledExamples = append(t.doubledExamples, fmt.Sprintf("utterance %s published %d times", id, n))
		}
	}
	s.mu.Lock()
	for _, n := range s.wire {
		if n > 1 {
			t.wireRepublished += n - 1
		}
	}
	calls := append([]*soakCall(nil), s.order...)
	s.mu.Unlock()
	known := map[string]bool{}
	for _, c := range calls {
		known[c.id] = true
		t.calls++
		if c.ended.IsZero() {
			continue
		}
		t.callsEnded++
		t.expected += len(c.bursts)
		res := perCall[c.id]
		if len(res) == 0 {
			t.callsWithNoResult++
		}
		// Overlap of results within one channel: the same speech published twice.
		byCh := map[int][]wire.Result{}
		for _, r := range res {
			byCh[r.Channel] = append(byCh[r.Channel], r)
		}
		for ch, rs := range byCh {
			sort.Slice(rs, func(i, j int) bool { return rs[i].StartMS < rs[j].StartMS })
			for i := 1; i < len(rs); i++ {
				if rs[i].StartMS < rs[i-1].EndMS {
					t.overlapping++
					t.doubledExamples = append(t.doubledExamples, fmt.Sprintf("%s ch%d: %s %d-%d overlaps %s %d-%d",
						c.id, ch, rs[i-1].UtteranceID, rs[i-1].StartMS, rs[i-1].EndMS, rs[i].UtteranceID, rs[i].StartMS, rs[i].EndMS))
				}
			}
		}
		// Each utterance sent must be covered by a result of its channel.
		covers := map[int]int{} // result index -> bursts it covers
		for _, x := range c.bursts {
			n := 0
			for i, r := range res {
				if r.Channel == x.ch && r.StartMS < x.end && r.EndMS > x.start {
					n++
					covers[i]++
				}
			}
			switch {
			case n == 0:
				t.lost++
				if len(t.lostExamples) < 20 {
					t.lostExamples = append(t.lostExamples, fmt.Sprintf("%s ch%d %d-%d ms (call of %d ms, %d results)", c.id, x.ch, x.start, x.end, c.lengthMS, len(res)))
				}
			case n > 1:
				t.split++
				if len(t.splitExamples) < 10 {
					t.splitExamples = append(t.splitExamples, fmt.Sprintf("%s ch%d %d-%d ms in %d results", c.id, x.ch, x.start, x.end, n))
				}
			}
		}
		for i := range res {
			switch {
			case covers[i] == 0:
				t.spurious++
			case covers[i] > 1:
				t.merged++
			}
		}
		t.summariesExp++
		sm := summ[c.id]
		if len(sm) > 0 {
			t.summariesPub++
			if len(sm) > 1 {
				t.sumDup += len(sm) - 1
			}
			if sm[0].Utterances != len(res) {
				t.summaryMismatch++
				if len(t.lostExamples) < 20 {
					t.lostExamples = append(t.lostExamples, fmt.Sprintf("%s: summary counts %d utterances, %d results published", c.id, sm[0].Utterances, len(res)))
				}
			}
		} else if len(t.lostExamples) < 20 {
			t.lostExamples = append(t.lostExamples, fmt.Sprintf("%s: no summary", c.id))
		}
	}
	for id := range perCall {
		if !known[id] {
			t.spurious += len(perCall[id])
		}
	}
	// Cuts made for a reason of timing or load (idle_flush, a held-chunk bound), which the
	// segmenter records in the calls bucket so that a replay cuts there too.
	if kv, err := s.r.js.KeyValue(context.Background(), bus.CallsBucket); err == nil {
		for _, c := range calls {
			e, err := kv.Get(context.Background(), hex.EncodeToString([]byte(c.id)))
			if err != nil {
				continue
			}
			var rec bus.CallRecord
			if json.Unmarshal(e.Value(), &rec) == nil && len(rec.Flushes) > 0 {
				t.flushedCalls++
				t.flushes += len(rec.Flushes)
				if len(t.flushExamples) < 10 {
					t.flushExamples = append(t.flushExamples, fmt.Sprintf("%s cut after chunks %v (of %d)", c.id, rec.Flushes, c.lengthMS/20))
				}
			}
		}
	}
	_, dlqMsgs, _ := s.streamInfo(s.r.cfg.NATS.DLQStream)
	if dlqMsgs > 0 {
		dl, _ := readAll(s.r.js, s.r.cfg.NATS.DLQStream, dlqMsgs, time.Minute)
		for _, m := range dl {
			t.dlq++
			t.dlqReasons[m.Headers().Get(wire.HeaderReasonCode)]++
			if t.dlq <= 10 {
				fmt.Fprintf(os.Stderr, "soak: DLQ %s %s: %s\n", m.Subject(), m.Headers().Get(wire.HeaderReasonCode), m.Headers().Get(wire.HeaderReason))
			}
		}
	}
	return t
}

// run is the whole soak: start sample, streams for dur with a sample every minute, the last
// calls ended and settled, end samples (as is, then after a GC), the accounting.
func (s *soak) run() {
	b := s.b
	s.calls, s.wire, s.summaries = map[string]*soakCall{}, map[string]int{}, map[string]int{}
	path := os.Getenv("SENTIO_SOAK_OUT")
	if path == "" {
		path = filepath.Join(b.TempDir(), "soak-"+s.name+".tsv")
	} else if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	s.outF, s.out = f, bufio.NewWriter(f)
	if st, _ := f.Stat(); st != nil && st.Size() == 0 {
		fmt.Fprintln(s.out, soakHeader)
	}
	fmt.Fprintln(os.Stderr, "soak-sample\t"+soakHeader)
	fmt.Fprintf(os.Stderr, "soak %s: %d streams of 20 ms frames for %s, seed %d, samples in %s\n", s.name, s.streams, s.dur, s.seed, path)

	sub, err := s.r.nc.Subscribe(s.r.cfg.NATS.ResultSubject+".>", s.onResult)
	if err != nil {
		b.Fatal(err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	defer sub.Unsubscribe()

	s.start = time.Now()
	start := s.sample("start")
	b.ResetTimer()
	s.stopAt = time.Now().Add(s.dur)
	var wg sync.WaitGroup
	for l := 0; l < s.streams; l++ {
		wg.Add(1)
		go s.lane(l, &wg)
	}
	lanesDone := make(chan struct{})
	go func() { wg.Wait(); close(lanesDone) }()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	var last soakSample
wait:
	for {
		select {
		case <-tick.C:
			last = s.sample("load")
		case <-lanesDone:
			break wait
		}
	}
	// Settle: every call's summary published and nothing in flight, or the settle time is over.
	deadline := time.Now().Add(s.settle)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		done := len(s.summaries) >= s.ended
		s.mu.Unlock()
		ack, _, pend := s.consumerTotals()
		if done && s.r.comp.p.Tracker.Live() == 0 && ack == 0 && pend == 0 {
			break
		}
		select {
		case <-tick.C:
			s.sample("settle")
		case <-time.After(time.Second):
		}
	}
	// A little more for anything published late (a doubled result would come now).
	time.Sleep(5 * time.Second)
	b.StopTimer()
	end := s.sample("end")
	runtime.GC()
	debug.FreeOSMemory()
	gc := s.sample("end-after-gc")
	t := s.tally()
	s.out.Flush()

	s.mu.Lock()
	latP50, latP99, latMax := pctOf(s.latAll, 0.5), pctOf(s.latAll, 0.99), pctOf(s.latAll, 1)
	sumP50, sumMax := pctOf(s.sumLat, 0.5), pctOf(s.sumLat, 1)
	s.mu.Unlock()
	var rssMin, rssMax int64 = math.MaxInt64, 0
	for _, x := range s.samples {
		if x.phase == "load" {
			rssMin, rssMax = min(rssMin, x.rssKB), max(rssMax, x.rssKB)
		}
	}
	report := fmt.Sprintf(`soak %s: %d streams, %s, %d calls (%d ended)
  RSS        start %d MB, last under load %d MB (under load min %d, max %d), end %d MB, after GC %d MB; Go heap in use start %d MB, end after GC %d MB
  goroutines start %d, last under load %d, end %d
  in flight  start %.0f (tracker %d), last under load %.0f, end %.0f (tracker %d); ack pending end %d, redelivered end %d, pending end %d
  consumers  audio start %d end %d; results start %d end %d; dlq start %d end %d; account start %d end %d
  results    expected %d, published %d, lost %d, doubled %d (same id %d, overlapping %d), republished on the wire %d (deduped by the stream)
             split %d, merged %d, spurious %d, calls with no result %d
  summaries  expected %d, published %d, duplicated %d, utterance count mismatches %d
  latency    result after the end of its audio p50 %.0f ms, p99 %.0f ms, max %.0f ms; summary after the End frame p50 %.0f ms, max %.0f ms
  pacing     worst frame lateness %.1f ms, publish errors %d, frames sent %d; DLQ %d %v`,
		s.name, s.streams, s.dur, t.calls, t.callsEnded,
		start.rssKB/1024, last.rssKB/1024, rssMin/1024, rssMax/1024, end.rssKB/1024, gc.rssKB/1024, start.heapKB/1024, gc.heapKB/1024,
		start.goroutines, last.goroutines, end.goroutines,
		start.inFlight, start.live, last.inFlight, end.inFlight, end.live, end.ackPending, end.redelivered, end.pending,
		start.consAudio, end.consAudio, start.consResults, end.consResults, start.consDLQ, end.consDLQ, start.consAll, end.consAll,
		t.expected, t.published, t.lost, t.doubledID+t.overlapping, t.doubledID, t.overlapping, t.wireRepublished,
		t.split, t.merged, t.spurious, t.callsWithNoResult,
		t.summariesExp, t.summariesPub, t.sumDup, t.summaryMismatch,
		latP50, latP99, latMax, sumP50, sumMax,
		float64(s.paceAll.Load())/1000, s.pubErrors.Load(), s.framesOut.Load(), t.dlq, t.dlqReasons)
	for _, e := range t.lostExamples {
		report += "\n  lost: " + e
	}
	report += fmt.Sprintf("\n  cuts recorded for timing or load (calls bucket): %d in %d calls; chunk problems %s", t.flushes, t.flushedCalls, end.problems)
	for _, e := range t.flushExamples {
		report += "\n  recorded cut: " + e
	}
	for _, e := range t.splitExamples {
		report += "\n  split: " + e
	}
	for _, e := range t.streams {
		report += "\n  stream at the end: " + e
	}
	for i, e := range t.doubledExamples {
		if i == 20 {
			break
		}
		report += "\n  doubled: " + e
	}
	fmt.Fprintln(os.Stderr, report)
	fmt.Fprintf(s.out, "# %s\n", strings.ReplaceAll(report, "\n", "\n# "))
	s.out.Flush()
	b.Log(report)

	mb := func(kb int64) float64 { return float64(kb) / 1024 }
	b.ReportMetric(mb(start.rssKB), "rss-start-MB")
	b.ReportMetric(mb(end.rssKB), "rss-end-MB")
	b.ReportMetric(mb(gc.rssKB), "rss-end-gc-MB")
	b.ReportMetric(float64(start.goroutines), "goroutines-start")
	b.ReportMetric(float64(end.goroutines), "goroutines-end")
	b.ReportMetric(end.inFlight, "inflight-end")
	b.ReportMetric(float64(end.consAudio), "consumers-audio-end")
	b.ReportMetric(float64(end.consResults), "consumers-results-end")
	b.ReportMetric(float64(t.callsEnded), "calls")
	b.ReportMetric(float64(t.expected), "results-expected")
	b.ReportMetric(float64(t.published), "results-published")
	b.ReportMetric(float64(t.lost), "results-lost")
	b.ReportMetric(float64(t.doubledID+t.overlapping), "results-doubled")
	b.ReportMetric(float64(t.summariesExp), "summaries-expected")
	b.ReportMetric(float64(t.summariesPub), "summaries-published")
	b.ReportMetric(latP99, "latency-p99-ms")
}

// BenchmarkSoak: SENTIO_SOAK (e.g. 30m) of SENTIO_SOAK_STREAMS (20) concurrent real-time streams
// of 20 ms frames, calls coming and going, through the pipeline with test doubles for whisper and
// the reasoning model (real NATS, real segmenter with the energy VAD, real lingua).
func BenchmarkSoak(b *testing.B) {
	dur := soakEnv(b, "SENTIO_SOAK")
	streams := soakInt(b, "SENTIO_SOAK_STREAMS", 20)
	r := newRigWith(b, soakConfig(testConfig()), &fakeASR{}, nil)
	tag := strconv.FormatInt(time.Now().Unix()%1e6, 36)
	s := &soak{b: b, r: r, name: "fake", streams: streams, dur: dur, gen: fakeCall(tag), settle: 3 * time.Minute, seed: time.Now().UnixNano()}
	s.run()
}
