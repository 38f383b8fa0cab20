// Package daemon runs sentio as a long-lived service: it starts (or connects to) NATS JetStream,
// serves /healthz, /readyz and /metrics, talks to systemd (READY=1, WATCHDOG=1, STOPPING=1), starts
// the pipeline's components and, on the first SIGTERM or SIGINT, drains them within the configured
// shutdown timeout.
//
// # Components
//
// The daemon knows nothing about audio or sentiment. Everything that does work is a [Component]:
//
//	type Component interface {
//		Name() string
//		Start(ctx context.Context, env *Env) error
//		Ready() error
//		Drain(ctx context.Context) error
//	}
//
// The life of a component, as the daemon drives it:
//
//  1. Start is called once, in registration order, after NATS is connected and the HTTP server is
//     listening. env gives the NATS connection, its JetStream context, the logger (already tagged
//     with component=<Name>), the Prometheus registerer and the effective configuration. Start
//     loads what the component needs (models, streams, consumers), launches its goroutines and
//     returns; it must not block for the component's whole life. ctx bounds start-up only: do not
//     keep it. An error from Start aborts the daemon (components already started are drained) and
//     the process exits non-zero, so systemd restarts it.
//  2. Ready is polled by /readyz and before READY=1 is sent to systemd. It returns nil once the
//     component can take work, or an error saying what it is waiting for ("loading model
//     models/asr/x.bin"); the text appears in the /readyz body. It must be cheap and safe to call
//     from any goroutine.
//  3. Drain is called once, in reverse registration order, when the daemon stops (first signal, a
//     component calling [Env.Fail], or the context given to [Run] ending). The component stops
//     taking new input first (e.g. ConsumeContext.Drain), finishes and acks what is in flight, then
//     releases its resources and returns nil. ctx carries the remaining shutdown budget
//     (config shutdown_timeout shared by all components): when it ends, the component abandons what
//     is left unacked (JetStream redelivers it later) and returns ctx.Err(). Drain is called only
//     for components whose Start returned nil, and never twice. The NATS connection stays up
//     until every component has drained, so results can still be published and acks sent.
//
// A component that hits an error it cannot recover from while running calls env.Fail(err): the
// daemon drains everything and exits non-zero. A component that can be stuck where no drain
// helps (a call into native code that cannot be cancelled, past its deadline) implements
// [Liveness]: while its Alive returns an error, the daemon stops sending WATCHDOG=1, and systemd
// (WatchdogSec=) restarts it.
//
// Logs: use env.Logger, one line per event; transcripts only when env.Config.Log.IncludeText.
//
// # Process lifecycle
//
// [Run] logs one line per event: "starting", "http listening" (/healthz answers from here on,
// /readyz says what is missing), "nats ready", "component started" (each), "ready" (with
// READY=1 to systemd), then on the first signal "draining" (STOPPING=1), "component drained"
// (each) and "stopped". A second signal exits at once with status 128+signal ([HandleSignals]).
//
// # Adding a component
//
// Components are passed to [Run] in [Options.Components], in start order. The `sentio run` command
// builds that list in buildComponents (cli/run.go), one line per component:
//
//	p, err := pipeline.New(cfg) // does no I/O; Start does
//
// It runs before NATS is started, so a component's constructor should only validate and
// allocate. Metrics a component registers on
// env.Metrics should be named sentio_<subsystem>_<name>_<unit> (e.g.
// sentio_pipeline_stage_duration_seconds, sentio_pipeline_results_published_total), with
// metricsns.Namespace (internal/metricsns) as their namespace.
package daemon
