package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/daemon"
	"github.com/sentio-health/sentio/wire"
)

// tailFlags are the flags of `sentio tail`.
type tailFlags struct {
	nats                    natsFlags
	callID, subject, stream string
	eventSubject            string
	json, fromStart         bool
	byCall, noText          bool
	color                   string
	roles, labels, langs    []string
	count                   int
	timeout                 time.Duration
}

// view checks the flags that need no connection and returns the filter and the view printing
// to w.
func (f *tailFlags) view(w io.Writer) (*tailFilter, *tailView, error) {
	if f.callID != "" {
		if err := wire.ValidCallID(f.callID); err != nil {
			return nil, nil, fmt.Errorf("--call-id: %w", err)
		}
	}
	if f.json && (f.byCall || f.noText) {
		return nil, nil, errors.New("--by-call and --no-text are for the readable output; --json prints whole results (leave one out)")
	}
	pal, err := newPalette(f.color)
	if err != nil {
		return nil, nil, err
	}
	filter, err := newTailFilter(f.roles, f.labels, f.langs)
	if err != nil {
		return nil, nil, err
	}
	return filter, &tailView{w: w, pal: pal, json: f.json, byCall: f.byCall, noText: f.noText}, nil
}

// newTailCmd builds `sentio tail`.
func newTailCmd() *cobra.Command {
	var flags tailFlags
	cmd := &cobra.Command{
		Use:   "tail [flags]",
		Short: "Print results as they arrive",
		Long: "Print sentio's results as they arrive on <result_subject>.> (or one call's with --call-id): one readable\n" +
			"line per utterance, per call summary and per alert event (<event_subject>.>, lines starting with ⚑), or the\n" +
			"full JSON with --json. Results say which entities were redacted, summaries their conversation metrics.\n" +
			"With --call-id the call's earlier\n" +
			"results are printed too (--from-start does that for every call). It exits after --count results or\n" +
			"summaries printed, after --timeout, or on Ctrl-C; when --count is given and the timeout comes first, the\n" +
			"exit status is 1.\n\n" +
			"Labels are coloured (negative red, neutral blue, positive green) when stdout is a terminal and NO_COLOR is\n" +
			"unset (--color). --by-call groups the lines under a header per call, with a shortened transcript.\n" +
			"Transcripts and rationales are health data: --no-text leaves them out. --role, --label and --language\n" +
			"(comma-separated or repeated) show only the results that match each given one; a call's summary is then\n" +
			"shown when one of its results was.\n\n" +
			"It connects to the daemon's NATS server, found in the daemon's configuration (--config, SENTIO_*), as the\n" +
			"user subscriber: with the embedded server, with the credentials in <state_dir>/auth/subscriber.nk.",
		Example: "  sentio tail\n" +
			"  sentio tail --call-id call-42 --json --count 5 --timeout 30s\n" +
			"  sentio tail --by-call --no-text --role patient --label negative",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := flags
			filter, view, err := f.view(cmd.OutOrStdout())
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			nc, js, cfg, err := f.nats.dial("sentio tail", daemon.UserSubscriber)
			if err != nil {
				return err
			}
			defer nc.Close()
			if !cmd.Flags().Changed("subject") {
				f.subject = cfg.NATS.ResultSubject
			}
			if !cmd.Flags().Changed("stream") {
				f.stream = cfg.NATS.ResultStream
			}
			if !cmd.Flags().Changed("event-subject") {
				f.eventSubject = cfg.NATS.EventSubject
			}
			ctx := cmd.Context()
			if f.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, f.timeout)
				defer cancel()
			}
			occ := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy,
				FilterSubjects: []string{f.subject + ".>", f.eventSubject + ".>"}}
			if f.callID != "" {
				occ.FilterSubjects = []string{wire.Subject(f.subject, f.callID), wire.SummarySubject(f.subject, f.callID), wire.Subject(f.eventSubject, f.callID)}
			}
			if f.callID != "" || f.fromStart {
				occ.DeliverPolicy = jetstream.DeliverAllPolicy
			}
			cons, err := js.OrderedConsumer(ctx, f.stream, occ)
			if err != nil {
				return fmt.Errorf("reading stream %s: %w (is the daemon running? it creates the stream)", f.stream, err)
			}
			it, err := cons.Messages()
			if err != nil {
				return err
			}
			go func() { <-ctx.Done(); it.Stop() }()
			n := 0
			for f.count <= 0 || n < f.count {
				m, err := it.Next()
				if err != nil {
					if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
						break
					}
					return err
				}
				if strings.HasPrefix(m.Subject(), f.eventSubject+".") {
					e, err := decodeEvent(m.Data())
					if e != nil && !filter.event(e) {
						continue
					}
					n++
					view.event(m.Subject(), m.Data(), e, err)
					continue
				}
				r, s, err := decodeTail(m.Subject(), m.Data())
				if (r != nil && !filter.result(r)) || (s != nil && !filter.summary(s)) {
					continue
				}
				n++
				view.message(m.Subject(), m.Data(), r, s, err)
			}
			if f.count > 0 && n < f.count {
				if cmd.Context().Err() != nil {
					return nil // interrupted
				}
				return &exitError{code: 1, err: fmt.Errorf("tail: %d of %d results within %v", n, f.count, f.timeout)}
			}
			return nil
		},
	}
	def := config.Defaults()
	fl := cmd.Flags()
	flags.nats.add(fl, daemon.UserSubscriber)
	fl.StringVar(&flags.callID, "call-id", "", "only this call (its earlier results included)")
	fl.BoolVar(&flags.json, "json", false, "print each result's full JSON (one per line)")
	fl.IntVar(&flags.count, "count", 0, "exit after printing this many results, summaries and alert events (0: no limit)")
	fl.DurationVar(&flags.timeout, "timeout", 0, "exit after this long (0: no limit)")
	fl.StringVar(&flags.color, "color", "auto", "colour labels: auto (when stdout is a terminal and NO_COLOR is unset), always or never")
	fl.BoolVar(&flags.byCall, "by-call", false, "group the lines under a header per call: time, role, label, language, shortened transcript")
	fl.BoolVar(&flags.noText, "no-text", false, "leave transcripts and rationales out (readable output)")
	fl.StringSliceVar(&flags.roles, "role", nil, "only results of these speaker roles, e.g. patient,clinician (repeatable)")
	fl.StringSliceVar(&flags.labels, "label", nil, "only results with these labels: negative, neutral, positive, unsupported (repeatable)")
	fl.StringSliceVar(&flags.langs, "language", nil, "only results in these languages (ISO 639-1, e.g. en,vi; repeatable)")
	fl.BoolVar(&flags.fromStart, "from-start", false, "print the results already in the stream too")
	fl.StringVar(&flags.subject, "subject", def.NATS.ResultSubject, "result subject prefix (nats.result_subject)")
	fl.StringVar(&flags.stream, "stream", def.NATS.ResultStream, "result stream (nats.result_stream)")
	fl.StringVar(&flags.eventSubject, "event-subject", def.NATS.EventSubject, "alert event subject prefix (nats.event_subject)")
	return cmd
}
