package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/daemon"
	"github.com/sentio-health/sentio/pipeline"
	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// newAnalyzeCmd builds `sentio analyze`.
func newAnalyzeCmd() *cobra.Command {
	var flags struct {
		configFlags
		json bool
		role string
	}
	cmd := &cobra.Command{
		Use:   "analyze [flags] FILE...",
		Short: "Run the whole pipeline on local audio files, without NATS",
		Long: "Run segment → asr → langid → reason on each file (as a clip: WAV, or what the audio decoder accepts)\n" +
			"and print one line per utterance (the full result JSON with --json), then each file's summary. The models\n" +
			"come from the configuration (asr.model, asr.vad_model, reasoning.model_dir ...). A file that cannot be\n" +
			"analysed is reported with the reason the daemon would put in its DLQ; the exit status is then 1.",
		Example: "  sentio analyze visit.wav\n" +
			"  sentio analyze --json --set asr.model=/models/ggml-base.bin *.wav",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			cfg, err := flags.load(cmd)
			if err != nil {
				return err
			}
			log := daemon.NewLogger(cfg.Log, os.Stderr)
			parts, closeParts, err := pipeline.OpenParts(cfg, log)
			if err != nil {
				return err
			}
			defer closeParts()
			sink := &memSink{out: cmd.OutOrStdout(), json: flags.json, results: map[string][]wire.Result{}}
			p := pipeline.Build(cfg, parts, sink, sink, stages.Policy{MaxDeliver: 1}, log, nil)
			p.Start()
			defer p.Tracker.Close()
			ctx := cmd.Context()
			var inputs []*localInput
			for i, file := range files {
				data, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				id := callIDFor("", file, i, len(files))
				h := nats.Header{}
				h.Set(wire.HeaderCallID, id)
				h.Set(wire.HeaderEnd, "true")
				if flags.role != "" {
					h.Set(wire.HeaderRole, flags.role)
				}
				in := &localInput{file: file, stderr: cmd.ErrOrStderr()}
				inputs = append(inputs, in)
				txn := p.Tracker.Begin(in)
				it := stages.Item[*pipeline.Work]{V: &pipeline.Work{Msg: &pipeline.Message{Subject: "local." + id, Header: h, Data: data, Delivered: 1}},
					Deps: []*stages.Txn{txn}, Key: id}
				if err := p.Submit(ctx, it); err != nil {
					stages.Release(it.Deps, stages.ErrAbandoned)
					return err
				}
			}
			p.Close()
			if err := p.Wait(ctx); err != nil {
				return err
			}
			wctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := p.Tracker.Wait(wctx); err != nil {
				return err
			}
			failed := 0
			for _, in := range inputs {
				if !in.ok {
					failed++
				}
			}
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d files could not be analysed", failed, len(files))}
			}
			return nil
		},
	}
	flags.add(cmd)
	cmd.Flags().BoolVar(&flags.json, "json", false, "print each result's full JSON (one per line)")
	cmd.Flags().StringVar(&flags.role, "role", "", "speaker role of the channel(s), comma separated")
	return cmd
}

// localInput is a file as a pipeline input: the outcome is printed instead of acked.
type localInput struct {
	file   string
	stderr io.Writer
	ok     bool
}

func (l *localInput) Ack() error              { l.ok = true; return nil }
func (l *localInput) Nak(time.Duration) error { return nil }
func (l *localInput) InProgress() error       { return nil }
func (l *localInput) Delivered() uint64       { return 1 }
func (l *localInput) Reject(code, reason, stage string) error {
	fmt.Fprintf(l.stderr, "sentio analyze: %s: rejected (%s, in %s): %s\n", l.file, code, stage, reason)
	return nil
}

// memSink prints results and keeps them for the summaries.
type memSink struct {
	mu      sync.Mutex
	out     io.Writer
	json    bool
	results map[string][]wire.Result
}

func (m *memSink) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.json {
		fmt.Fprintln(m.out, strings.TrimSpace(string(data)))
	} else {
		printReadable(m.out, subject, data)
	}
	if !strings.HasSuffix(subject, "."+wire.SummarySuffix) {
		var r wire.Result
		if err := json.Unmarshal(data, &r); err == nil {
			m.results[r.CallID] = append(m.results[r.CallID], r)
		}
	}
	return nil
}

func (m *memSink) CallResults(ctx context.Context, callID string) ([]wire.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]wire.Result(nil), m.results[callID]...), nil
}

func (m *memSink) Notice(ctx context.Context, e bus.DLQEntry) error {
	fmt.Fprintf(os.Stderr, "sentio analyze: %s: %s: %s\n", e.Subject, e.Code, e.Reason)
	return nil
}
