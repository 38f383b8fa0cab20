package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/daemon"
	"github.com/sentio-health/sentio/langid"
	"github.com/sentio-health/sentio/reasoning"
	"github.com/sentio-health/sentio/segment"
	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// Component runs the pipeline inside the daemon: JetStream in, results and DLQ out.
type Component struct {
	cfg   *config.Config
	parts *Parts // nil: opened from the configuration in Start

	log       *slog.Logger
	bus       *bus.Bus
	p         *Pipeline
	consumer  *bus.Group
	closers   []func() error
	submit    context.Context
	stopSub   context.CancelFunc
	ready     atomic.Bool
	natsClose func()
	// wrapSink, when set (tests), wraps the results sink.
	wrapSink func(Sink) Sink
}

var _ daemon.Component = (*Component)(nil)

// New returns the pipeline component; Start opens the models named in cfg.
func New(cfg *config.Config) (*Component, error) {
	return &Component{cfg: cfg}, nil
}

// NewWithParts returns the pipeline component with the given models (tests, benchmarks).
func NewWithParts(cfg *config.Config, parts Parts) *Component {
	return &Component{cfg: cfg, parts: &parts}
}

// Name is "pipeline".
func (c *Component) Name() string { return "pipeline" }

// Ready is nil once the consumer runs, and while no model call is hung (see Alive).
func (c *Component) Ready() error {
	if !c.ready.Load() {
		return errors.New("starting: loading models and creating streams")
	}
	return c.Alive()
}

// Alive is not nil while a whisper.cpp or reasoning call runs past its deadline
// (asr.call_timeout, reasoning.call_timeout): such a call cannot be cancelled, so the daemon
// stops feeding the systemd watchdog and systemd restarts it (see daemon.Liveness).
func (c *Component) Alive() error {
	if c.p == nil {
		return nil
	}
	return c.p.Watchdog.Hung()
}

// OpenParts loads the models the configuration names: whisper.cpp (and its Silero VAD when
// asr.vad_model is set), lingua-go and the reasoning model. close releases them.
func OpenParts(cfg *config.Config, log *slog.Logger) (parts Parts, close func() error, err error) {
	var closers []func() error
	close = func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			_ = close()
		}
	}()
	parts.Models = map[string]string{"langid": langid.Version}
	eng, err := asr.Open(cfg.ASR, max(1, cfg.Pipeline.ASRWorkers))
	if err != nil {
		return parts, close, fmt.Errorf("opening the ASR model: %w", err)
	}
	closers = append(closers, eng.Close)
	parts.ASR = eng
	info := eng.Info()
	if info.Demo() {
		log.Warn(asr.DemoModelWarning, "model", info.Path)
	}
	// One line with a fixed message (operators grep and alert on it): where the model runs.
	device := []any{"model", baseName(info.Path), "type", info.Type, "device", info.Device,
		"workers", info.Workers, "threads", info.Threads, "flash_attention", info.FlashAttention}
	if info.DeviceDescription != "" {
		device = append(device, "device_description", info.DeviceDescription)
	}
	if info.UseGPU && !info.OnGPU() {
		// Info, not a warning: asr.use_gpu is on by default and most machines have no GPU.
		log.Info("asr: no GPU device, the model runs on the CPU", append(device, "help", asr.NoGPUHelp)...)
	} else {
		log.Info("asr: model loaded", device...)
	}
	parts.Models["asr"] = "whisper.cpp " + baseName(info.Path)
	if info.Type != "" && info.Type != "unknown" {
		// whisper.cpp's size name, for official models ("whisper.cpp base ggml-base.bin").
		parts.Models["asr"] = fmt.Sprintf("whisper.cpp %s %s", info.Type, baseName(info.Path))
	}
	if !info.FlashAttention {
		parts.Models["asr"] += " (no flash attention: audio context " + strconv.Itoa(info.UsedAudioCtx) + ")"
	}
	if cfg.ASR.VADModel != "" {
		vad, err := asr.OpenVAD(cfg.ASR.VADModel, 1)
		if err != nil {
			return parts, close, err
		}
		closers = append(closers, vad.Close)
		parts.VAD = SileroVAD{vad}
		parts.Models["vad"] = "silero " + baseName(cfg.ASR.VADModel)
	} else {
		parts.VAD = segment.Energy{}
		parts.Models["vad"] = "energy"
	}
	id, err := langid.New(cfg.LangID)
	if err != nil {
		return parts, close, err
	}
	parts.LangID = id
	model, err := reasoning.Open(cfg.Reasoning.ModelDir, reasoning.Options{Config: cfg.Reasoning, Logger: log,
		Detector: reasoning.DetectorFunc(func(text string) (string, bool) {
			d := id.Identify(text, "", 0, nil)
			return d.Language, d.Supported
		})})
	if err != nil {
		return parts, close, fmt.Errorf("opening the reasoning model: %w", err)
	}
	closers = append(closers, model.Close)
	parts.Reasoner = model
	mi := model.Info()
	parts.Models["reasoning"] = mi.Kind + " " + mi.Version
	return parts, close, nil
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// SileroVAD adapts asr.VAD (whisper.cpp's Silero) to segment.VAD.
type SileroVAD struct{ V *asr.VAD }

// Segments returns the speech spans of pcm.
func (s SileroVAD) Segments(pcm []float32) ([]segment.Span, error) {
	spans, err := s.V.Segments(pcm)
	if err != nil {
		return nil, err
	}
	out := make([]segment.Span, len(spans))
	for i, sp := range spans {
		out[i] = segment.Span{StartMS: sp.StartMS, EndMS: sp.EndMS}
	}
	return out, nil
}

// Start opens the models, creates the streams and the consumer, and starts consuming.
func (c *Component) Start(ctx context.Context, env *daemon.Env) error {
	c.log = env.Logger
	c.natsClose = env.NATS.Close
	if c.parts == nil {
		parts, closeParts, err := OpenParts(c.cfg, c.log)
		if err != nil {
			return err
		}
		c.parts = &parts
		c.closers = append(c.closers, closeParts)
	}
	c.bus = bus.New(env.JetStream, c.cfg.NATS, c.log)
	c.bus.RegisterMetrics(env.Metrics)
	if mc, ok := c.parts.Reasoner.(prometheus.Collector); ok && env.Metrics != nil {
		env.Metrics.MustRegister(mc) // the llm kind's sentio_reasoning_llm_*
	}
	cons, err := bus.Setup(ctx, env.JetStream, c.cfg.NATS)
	if err != nil {
		return err
	}
	policy := stages.Policy{MaxDeliver: c.bus.MaxDeliver(), NakDelay: bus.NakDelay(c.cfg.NATS), KeepAlive: c.bus.AckWait() / 3}
	var sink Sink = c.bus
	if c.wrapSink != nil {
		sink = c.wrapSink(sink)
	}
	c.p = Build(c.cfg, *c.parts, sink, c.bus, policy, c.log, env.Metrics)
	c.p.SetCallRegistry(c.bus)
	c.p.Start()
	c.submit, c.stopSub = context.WithCancel(context.Background())
	// Each partition's iterator buffers a little; the pipeline's queues hold the rest.
	buffer := max(1, min(c.cfg.Pipeline.QueueSize, c.bus.MaxAckPending())/bus.Partitions)
	c.consumer, err = c.bus.ConsumeGroup(ctx, cons, buffer, c.handle)
	if err != nil {
		return err
	}
	group := c.consumer
	c.p.SetOwnership(func(callID string) bool { return group.Owns(bus.PartitionOf(callID)) })
	c.ready.Store(true)
	c.log.Info("pipeline started", "stages", strings.Join(c.p.Names(), " → "), "consumer", c.bus.Names.Consumer, "partitions", c.consumer.Owned(), "member", c.consumer.ID(),
		"input", c.bus.Names.AudioSubject+".<call_id>", "results", c.bus.Names.ResultSubject+".<call_id>", "models", c.parts.Models)
	return nil
}

// handle hands one input to the pipeline, blocking while it is full.
func (c *Component) handle(in *bus.Input) {
	if int(in.Delivered()) > c.bus.MaxDeliveries() {
		// Deliveries that did not fail (a crash, a kill, a stop with the input in flight) do not
		// count toward max_deliver, but an input that crashes the daemon each time it is
		// processed must not loop forever: past this many deliveries it goes to the DLQ.
		if err := in.Reject(wire.ReasonMaxDeliveries, fmt.Sprintf("delivered %d times without settling: the daemon stopped or crashed with it in flight each time (limit %d deliveries)",
			in.Delivered()-1, c.bus.MaxDeliveries()), "consume"); err != nil {
			c.log.Warn("could not reject an input past its delivery limit; it stays pending and is rejected again when it comes back", "err", err)
		}
		return
	}
	txn := c.p.Tracker.Begin(in)
	msg := &Message{Subject: in.Msg.Subject(), Header: in.Msg.Headers(), Data: in.Msg.Data(), Delivered: in.Delivered(), StreamSeq: in.StreamSeq(), Stored: in.PublishedAt(), Fetch: c.bus}
	it := stages.Item[*Work]{V: &Work{Msg: msg}, Deps: []*stages.Txn{txn}, Key: wire.CallID(msg.Subject)}
	submitted := c.p.segment.clock.submitting()
	err := c.p.Submit(c.submit, it)
	submitted()
	if err != nil {
		stages.Release(it.Deps, stages.ErrAbandoned)
	}
}

// Drain stops pulling, lets the pipeline finish and ack what it holds, then closes the models.
// What is still unsettled when ctx ends is Naked for redelivery.
func (c *Component) Drain(ctx context.Context) error {
	c.ready.Store(false)
	var errs []error
	if c.consumer != nil {
		if err := c.consumer.Drain(ctx); err != nil {
			errs = append(errs, fmt.Errorf("draining the consumer: %w", err))
		}
	}
	if c.stopSub != nil {
		c.stopSub()
	}
	if c.p != nil {
		c.p.Close()
		if err := c.p.Wait(ctx); err != nil {
			errs = append(errs, fmt.Errorf("draining the stages: %w", err))
		}
		if err := c.p.Tracker.Wait(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%d inputs unsettled: %w", c.p.Tracker.Live(), err))
		}
		c.p.Tracker.Close()
	}
	for _, cl := range c.closers {
		if err := cl(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
