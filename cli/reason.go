package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/sentio-health/sentio/daemon"
	"github.com/sentio-health/sentio/reasoning"
)

// newReasonCmd builds `sentio reason`.
func newReasonCmd() *cobra.Command {
	var flags struct {
		configFlags
		jsonlFlags
		modelDir string
	}
	cmd := &cobra.Command{
		Use:   "reason",
		Short: "Reason about the sentiment of texts (JSON Lines in, JSON Lines out)",
		Long: "Read JSON Lines records with at least \"text\" (optional: \"id\"; \"lang\", an ISO 639-1 code, without\n" +
			"which the language is detected; \"context\", the previous utterances of the conversation, which an LLM\n" +
			"model reads) and write one record per input, in order, with the id, the language used, the label,\n" +
			"scores {negative, neutral, positive}, a rationale and its source, evidence spans\n" +
			"[{start, end, text, weight}] (code point offsets into the text), comprehensiveness and sufficiency;\n" +
			"an LLM model's records have no evidence, \"no_scores\": true when the endpoint gave no\n" +
			"log-probabilities, and \"model\" naming the model that answered (its fallback when the endpoint failed).\n" +
			"A record that cannot be handled (bad JSON, no text, unsupported language) gives a record with \"line\"\n" +
			"and \"error\" instead; the others go on. The exit status is 0 when every record succeeded, 1 otherwise.\n" +
			"The model and ONNX Runtime settings come from the reasoning section of the configuration\n" +
			"(reasoning.llm for an LLM model such as models/llm).",
		Example: "  echo '{\"id\": 1, \"text\": \"The pain is much better today.\"}' | sentio reason\n" +
			"  sentio reason --in utterances.jsonl --out results.jsonl --model-dir models/reasoning",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return flags.jsonlFlags.run(cmd, func(in io.Reader, out *bufio.Writer) (int, int, error) {
				m, _, err := openReasoning(cmd, &flags.configFlags, flags.modelDir)
				if err != nil {
					return 0, 0, err
				}
				defer m.Close()
				return reasonStream(cmd.Context(), m, in, out)
			})
		},
	}
	flags.configFlags.add(cmd)
	flags.jsonlFlags.add(cmd)
	f := cmd.Flags()
	f.StringVar(&flags.modelDir, "model-dir", "", "model directory holding model.json (reasoning.model_dir)")
	return cmd
}

// openReasoning loads the configuration (with --model-dir applied) and opens the model.
func openReasoning(cmd *cobra.Command, cf *configFlags, modelDir string) (reasoning.Model, *slog.Logger, error) {
	if modelDir != "" {
		cf.set = append(cf.set, "reasoning.model_dir="+modelDir)
	}
	cfg, err := cf.load(cmd)
	if err != nil {
		return nil, nil, err
	}
	log := daemon.NewLogger(cfg.Log, os.Stderr)
	m, err := reasoning.Open("", reasoning.Options{Config: cfg.Reasoning, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return m, log, nil
}

// openInOut opens --in and --out, defaulting to standard input and output.
func openInOut(cmd *cobra.Command, inPath, outPath string) (io.Reader, *bufio.Writer, func(), error) {
	var in io.Reader = cmd.InOrStdin()
	var out io.Writer = cmd.OutOrStdout()
	var closers []func() error
	if inPath != "" && inPath != "-" {
		f, err := os.Open(inPath)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--in: %w", err)
		}
		in = f
		closers = append(closers, f.Close)
	}
	if outPath != "" && outPath != "-" {
		f, err := os.Create(outPath)
		if err != nil {
			for _, c := range closers {
				c()
			}
			return nil, nil, nil, fmt.Errorf("--out: %w", err)
		}
		out = f
		closers = append(closers, f.Close)
	}
	w := bufio.NewWriter(out)
	return in, w, func() {
		w.Flush()
		for _, c := range closers {
			c()
		}
	}, nil
}

// textRecord is an input record of `sentio reason` and `sentio eval`.
type textRecord struct {
	ID        json.RawMessage `json:"id,omitempty"`
	Text      *string         `json:"text"`
	Lang      string          `json:"lang"`
	Label     string          `json:"label"`
	Rationale string          `json:"rationale"`
	// Context are the previous utterances of the conversation, oldest first (read by the llm
	// kind when reasoning.llm.context_utterances is above 0).
	Context []string `json:"context"`
}

// lineRecord is a parsed input line, or the reason it could not be parsed.
type lineRecord struct {
	line int
	rec  textRecord
	err  error
}

// readRecords reads JSON Lines records in chunks of up to n and calls fn with each chunk. Blank
// lines are skipped.
func readRecords(r io.Reader, n int, fn func([]lineRecord) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var chunk []lineRecord
	line := 0
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			line++
			if b = bytes.TrimSpace(b); len(b) > 0 {
				lr := lineRecord{line: line}
				if jerr := json.Unmarshal(b, &lr.rec); jerr != nil {
					lr.err = fmt.Errorf("line %d: not a JSON object: %v", line, jerr)
				} else if lr.rec.Text == nil {
					lr.err = fmt.Errorf("line %d: the record has no \"text\"", line)
				}
				chunk = append(chunk, lr)
			}
		}
		if len(chunk) == n || (err != nil && len(chunk) > 0) {
			if ferr := fn(chunk); ferr != nil {
				return ferr
			}
			chunk = chunk[:0]
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// reasonOutput is an output record of `sentio reason`.
type reasonOutput struct {
	ID json.RawMessage `json:"id,omitempty"`
	reasoning.Result
}

// reasonError is the output record for an input that failed.
type reasonError struct {
	ID    json.RawMessage `json:"id,omitempty"`
	Line  int             `json:"line"`
	Error string          `json:"error"`
}

// reasonStream runs every record of in through m and writes one record per input to out.
func reasonStream(ctx context.Context, m reasoning.Model, in io.Reader, out *bufio.Writer) (failed, total int, err error) {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	err = predictRecords(ctx, m, in, func(lr lineRecord, r reasoning.Result, perr error) error {
		total++
		if perr != nil {
			failed++
			return enc.Encode(reasonError{ID: lr.rec.ID, Line: lr.line, Error: perr.Error()})
		}
		return enc.Encode(reasonOutput{ID: lr.rec.ID, Result: r})
	})
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return failed, total, err
}

// predictRecords runs the records of in through m in chunks (so the model batches them) and calls
// emit for each record in input order.
func predictRecords(ctx context.Context, m reasoning.Model, in io.Reader, emit func(lineRecord, reasoning.Result, error) error) error {
	return readRecords(in, 256, func(chunk []lineRecord) error {
		inputs := make([]reasoning.Input, 0, len(chunk))
		where := make([]int, 0, len(chunk))
		for i, lr := range chunk {
			if lr.err == nil {
				inputs = append(inputs, reasoning.Input{Text: *lr.rec.Text, Lang: lr.rec.Lang, Context: lr.rec.Context})
				where = append(where, i)
			}
		}
		results := make([]reasoning.Result, len(chunk))
		errs := make([]error, len(chunk))
		if len(inputs) > 0 {
			rs, es, err := m.PredictBatch(ctx, inputs)
			if err != nil {
				return err
			}
			for k, i := range where {
				results[i] = rs[k]
				if es[k] != nil {
					errs[i] = fmt.Errorf("line %d: %w", chunk[i].line, es[k])
				}
			}
		}
		for i, lr := range chunk {
			err := errs[i]
			if lr.err != nil {
				err = lr.err
			}
			if e := emit(lr, results[i], err); e != nil {
				return e
			}
		}
		return nil
	})
}
