package cli

import (
	"context"
	"encoding/json"
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

// newTailCmd builds `sentio tail`.
func newTailCmd() *cobra.Command {
	var flags struct {
		nats                    natsFlags
		callID, subject, stream string
		json, fromStart         bool
		count                   int
		timeout                 time.Duration
	}
	cmd := &cobra.Command{
		Use:   "tail [flags]",
		Short: "Print results as they arrive",
		Long: "Print sentio's results as they arrive on <result_subject>.> (or one call's with --call-id): one readable\n" +
			"line per utterance and per call summary, or the full JSON with --json. With --call-id the call's earlier\n" +
			"results are printed too (--from-start does that for every call). It exits after --count results, after\n" +
			"--timeout, or on Ctrl-C; when --count is given and the timeout comes first, the exit status is 1.\n\n" +
			"It connects to the daemon's NATS server, found in the daemon's configuration (--config, SENTIO_*), as the\n" +
			"user subscriber: with the embedded server, with the credentials in <state_dir>/auth/subscriber.nk.",
		Example: "  sentio tail\n" +
			"  sentio tail --call-id call-42 --json --count 5 --timeout 30s",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := flags
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
			ctx := cmd.Context()
			if f.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, f.timeout)
				defer cancel()
			}
			occ := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy,
				FilterSubjects: []string{f.subject + ".>"}}
			if f.callID != "" {
				occ.FilterSubjects = []string{wire.Subject(f.subject, f.callID), wire.SummarySubject(f.subject, f.callID)}
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
			out := cmd.OutOrStdout()
			n := 0
			for f.count <= 0 || n < f.count {
				m, err := it.Next()
				if err != nil {
					if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
						break
					}
					return err
				}
				n++
				if f.json {
					fmt.Fprintln(out, strings.TrimSpace(string(m.Data())))
					continue
				}
				printReadable(out, m.Subject(), m.Data())
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
	fl.IntVar(&flags.count, "count", 0, "exit after this many results (0: no limit)")
	fl.DurationVar(&flags.timeout, "timeout", 0, "exit after this long (0: no limit)")
	fl.BoolVar(&flags.fromStart, "from-start", false, "print the results already in the stream too")
	fl.StringVar(&flags.subject, "subject", def.NATS.ResultSubject, "result subject prefix (nats.result_subject)")
	fl.StringVar(&flags.stream, "stream", def.NATS.ResultStream, "result stream (nats.result_stream)")
	return cmd
}

// printReadable prints one result or summary as a line people read.
func printReadable(w io.Writer, subject string, data []byte) {
	if strings.HasSuffix(subject, "."+wire.SummarySuffix) {
		var s wire.Summary
		if err := json.Unmarshal(data, &s); err != nil {
			fmt.Fprintf(w, "%s: undecodable summary: %v\n", subject, err)
			return
		}
		fmt.Fprintf(w, "%s  SUMMARY  %d utterances over %.1fs  %s\n", s.CallID, s.Utterances, float64(s.DurationMS)/1000, counts(s.Counts))
		return
	}
	var r wire.Result
	if err := json.Unmarshal(data, &r); err != nil {
		fmt.Fprintf(w, "%s: undecodable result: %v\n", subject, err)
		return
	}
	fmt.Fprintln(w, readable(&r))
}

func readable(r *wire.Result) string {
	label := "—"
	if r.Label != "" {
		label = fmt.Sprintf("%s %.2f", r.Label, r.Scores[r.Label])
	} else if !r.LanguageSupported {
		label = "unsupported language"
	}
	lang := r.Language
	if lang == "" {
		lang = "??"
	}
	span := fmt.Sprintf("%.1f–%.1fs", float64(r.StartMS)/1000, float64(r.EndMS)/1000)
	s := fmt.Sprintf("%s  %s  %-8s %-13s  %s %.2f (%s)  %-14s  %q",
		r.CallID, r.UtteranceID, r.Role, span, lang, r.LanguageConfidence, r.LanguageSource, label, r.Transcript)
	if r.Rationale != "" {
		s += "  — " + r.Rationale
	}
	return s
}

func counts(c map[string]int) string {
	var parts []string
	for _, l := range append(append([]string(nil), wire.Labels...), "unsupported") {
		if c[l] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", l, c[l]))
		}
	}
	return strings.Join(parts, ", ")
}
