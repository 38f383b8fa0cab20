package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/reasoning"
)

// newEvalCmd builds `sentio eval`.
func newEvalCmd() *cobra.Command {
	var flags struct {
		configFlags
		data, modelDir string
		json           bool
	}
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate the reasoning model on labelled records",
		Long: "Run the reasoning model on JSON Lines records carrying \"text\", a gold \"label\" (negative, neutral or\n" +
			"positive), optionally \"lang\" (detected when absent), \"id\" and a gold \"rationale\", and print per language\n" +
			"(and for all together) accuracy, macro-F1, per-label F1 and the confusion matrix, for records with a\n" +
			"gold rationale the rationale's exact match and ROUGE-L (words; characters for Chinese), and the mean\n" +
			"comprehensiveness and sufficiency of the evidence. Records that cannot be run or carry no valid label\n" +
			"are counted and reported, not scored.",
		Example: "  sentio eval --data dev.jsonl\n  sentio eval --data dev.jsonl --json > scores.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if flags.data == "" {
				return fmt.Errorf("eval: --data FILE.jsonl is required")
			}
			f, err := os.Open(flags.data)
			if err != nil {
				return fmt.Errorf("--data: %w", err)
			}
			defer f.Close()
			m, log, err := openReasoning(cmd, &flags.configFlags, flags.modelDir)
			if err != nil {
				return err
			}
			defer m.Close()
			ev := reasoning.NewEvaluation()
			info := m.Info()
			self := info.Kind + " " + info.Version
			answeredBy := map[string]int{}
			var skipped []string
			err = predictRecords(cmd.Context(), m, f, func(lr lineRecord, r reasoning.Result, perr error) error {
				switch {
				case perr != nil:
					skipped = append(skipped, perr.Error())
				case !slices.Contains(reasoning.Labels, lr.rec.Label):
					skipped = append(skipped, fmt.Sprintf("line %d: label %q is not negative, neutral or positive", lr.line, lr.rec.Label))
				default:
					ev.AddResult(lr.rec.Label, lr.rec.Rationale, r)
					answeredBy[cmp.Or(r.Model, self)]++
				}
				return nil
			})
			if err != nil {
				return err
			}
			for i, s := range skipped {
				if i == 10 {
					log.Warn("eval: more records skipped", "count", len(skipped)-10)
					break
				}
				log.Warn("eval: record skipped", "reason", s)
			}
			report := evalReport{Model: info, Data: flags.data, Skipped: len(skipped), Languages: ev.Scores()}
			if len(answeredBy) > 1 || answeredBy[self] == 0 {
				report.AnsweredBy = answeredBy
			}
			if flags.json {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(report)
			}
			return report.print(cmd.OutOrStdout())
		},
	}
	flags.configFlags.add(cmd)
	f := cmd.Flags()
	f.StringVar(&flags.data, "data", "", "labelled JSON Lines records (text, label; optional lang, id, rationale)")
	f.StringVar(&flags.modelDir, "model-dir", "", "model directory holding model.json (reasoning.model_dir)")
	f.BoolVar(&flags.json, "json", false, "print the scores as JSON")
	return cmd
}

// evalReport is what `sentio eval` prints.
type evalReport struct {
	Model     reasoning.Info                  `json:"model"`
	Data      string                          `json:"data"`
	Skipped   int                             `json:"skipped"`
	Languages map[string]reasoning.LangScores `json:"languages"`
	// AnsweredBy counts the records by the model that answered when another than Model did
	// (an LLM's fallback), with Model's own answers under its kind and version.
	AnsweredBy map[string]int `json:"answered_by,omitempty"`
}

// langOrder lists the languages of the report: the default langid.languages in their order,
// others sorted, "all" last.
func (r evalReport) langOrder() []string {
	known := config.Defaults().LangID.Languages
	var out, others []string
	for _, l := range known {
		if _, ok := r.Languages[l]; ok {
			out = append(out, l)
		}
	}
	for l := range r.Languages {
		if l != "all" && !slices.Contains(known, l) {
			others = append(others, l)
		}
	}
	sort.Strings(others)
	out = append(out, others...)
	if _, ok := r.Languages["all"]; ok {
		out = append(out, "all")
	}
	return out
}

func (r evalReport) print(w io.Writer) error {
	fmt.Fprintf(w, "model %s %s (%s) on %s", r.Model.Kind, r.Model.Version, r.Model.Dir, r.Data)
	if r.Skipped > 0 {
		fmt.Fprintf(w, ", %d records skipped", r.Skipped)
	}
	for _, name := range slices.Sorted(maps.Keys(r.AnsweredBy)) {
		fmt.Fprintf(w, "; %d answered by %s", r.AnsweredBy[name], name)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "lang\tn\taccuracy\tmacro-F1\tF1 neg\tF1 neu\tF1 pos\trationale n\texact\tROUGE-L\tcompr.\tsuff.\t")
	for _, l := range r.langOrder() {
		s := r.Languages[l]
		fmt.Fprintf(tw, "%s\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t", l, s.N, s.Accuracy, s.MacroF1,
			s.F1[reasoning.Negative], s.F1[reasoning.Neutral], s.F1[reasoning.Positive])
		if s.Rationale != nil {
			fmt.Fprintf(tw, "%d\t%.4f\t%.4f\t", s.Rationale.N, s.Rationale.ExactMatch, s.Rationale.RougeL)
		} else {
			fmt.Fprint(tw, "0\t-\t-\t")
		}
		if s.Faithfulness != nil {
			fmt.Fprintf(tw, "%.4f\t%.4f\t\n", s.Faithfulness.Comprehensiveness, s.Faithfulness.Sufficiency)
		} else {
			fmt.Fprint(tw, "-\t-\t\n")
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range r.langOrder() {
		s := r.Languages[l]
		fmt.Fprintf(w, "\nconfusion %s (rows gold, columns predicted)\n", l)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tnegative\tneutral\tpositive\t")
		for _, g := range reasoning.Labels {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", g, s.Confusion[g][reasoning.Negative], s.Confusion[g][reasoning.Neutral], s.Confusion[g][reasoning.Positive])
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
