package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/fatih/color"

	"github.com/sentio-health/sentio/wire"
)

// shortTranscript is the most runes of a transcript the per-call view prints.
const shortTranscript = 64

// palette colours labels: negative red, neutral blue, positive green, unsupported faint; call
// headers bold.
type palette struct {
	labels map[string]*color.Color
	header *color.Color
}

// newPalette returns the colours for --color mode: "always", "never", or "auto", which colours
// when stdout is a terminal, NO_COLOR is unset or empty and TERM is not dumb (fatih/color's
// detection).
func newPalette(mode string) (palette, error) {
	p := palette{labels: map[string]*color.Color{
		wire.LabelNegative:    color.New(color.FgRed),
		wire.LabelNeutral:     color.New(color.FgBlue),
		wire.LabelPositive:    color.New(color.FgGreen),
		wire.LabelUnsupported: color.New(color.Faint),
	}, header: color.New(color.Bold)}
	all := []*color.Color{p.header}
	for _, c := range p.labels {
		all = append(all, c)
	}
	for _, c := range all {
		switch mode {
		case "auto":
		case "always":
			c.EnableColor()
		case "never":
			c.DisableColor()
		default:
			return p, fmt.Errorf("--color %q: use auto, always or never", mode)
		}
	}
	return p, nil
}

// label returns text in the colour of label, padded with spaces to width runes.
func (p palette) label(label, text string, width int) string {
	pad := strings.Repeat(" ", max(0, width-utf8.RuneCountInString(text)))
	if c := p.labels[label]; c != nil {
		return c.Sprint(text) + pad
	}
	return text + pad
}

// tailView prints results and summaries: one line each, the full JSON with json, or grouped
// under a header per call with byCall; noText leaves transcripts and rationales out.
type tailView struct {
	w                    io.Writer
	pal                  palette
	json, byCall, noText bool
	call                 string // byCall: the call of the last header
}

// result prints r readably.
func (v *tailView) result(r *wire.Result) {
	if !v.byCall {
		fmt.Fprintln(v.w, v.readable(r))
		return
	}
	v.header(r.CallID)
	line := fmt.Sprintf("  %s  %-9s  %s  %-2s", callTime(r.StartMS), r.Role, v.pal.label(resultLabel(r), labelText(r), 13), language(r))
	if !v.noText {
		line += fmt.Sprintf("  %q", shorten(r.Transcript, shortTranscript))
	}
	fmt.Fprintln(v.w, line+redactionNote(r))
}

// summary prints s readably.
func (v *tailView) summary(s *wire.Summary) {
	if !v.byCall {
		line := fmt.Sprintf("%s  SUMMARY  %d utterances over %.1fs  %s", s.CallID, s.Utterances, float64(s.DurationMS)/1000, v.counts(s.Counts))
		if m := metricsNote(s.Metrics); m != "" {
			line += "  " + m
		}
		fmt.Fprintln(v.w, line)
		return
	}
	v.header(s.CallID)
	fmt.Fprintf(v.w, "  summary: %d utterances over %.1fs: %s\n", s.Utterances, float64(s.DurationMS)/1000, v.counts(s.Counts))
	if m := metricsNote(s.Metrics); m != "" {
		fmt.Fprintf(v.w, "  metrics: %s\n", m)
	}
}

// message prints a message of the results stream as decodeTail decoded it: its JSON as it is
// with json, else r or s readably, or a line saying that err kept it from being decoded.
func (v *tailView) message(subject string, data []byte, r *wire.Result, s *wire.Summary, err error) {
	switch {
	case v.json:
		fmt.Fprintln(v.w, strings.TrimSpace(string(data)))
	case err != nil:
		fmt.Fprintf(v.w, "%s: undecodable %v\n", subject, err)
	case s != nil:
		v.summary(s)
	default:
		v.result(r)
	}
}

// printReadable prints one result or summary as a plain line people read (sentio analyze).
func printReadable(w io.Writer, subject string, data []byte) {
	r, s, err := decodeTail(subject, data)
	(&tailView{w: w}).message(subject, data, r, s, err)
}

// header starts call's group in the per-call view unless the last line printed was of call.
func (v *tailView) header(call string) {
	if call != v.call {
		fmt.Fprintln(v.w, v.pal.header.Sprint("── "+call))
		v.call = call
	}
}

// readable is r as one line.
func (v *tailView) readable(r *wire.Result) string {
	span := fmt.Sprintf("%.1f–%.1fs", float64(r.StartMS)/1000, float64(r.EndMS)/1000)
	s := fmt.Sprintf("%s  %s  %-8s %-13s  %s %.2f (%s)  %s",
		r.CallID, r.UtteranceID, r.Role, span, language(r), r.LanguageConfidence, r.LanguageSource, v.pal.label(resultLabel(r), labelText(r), 14))
	if v.noText {
		return strings.TrimRight(s, " ") + redactionNote(r)
	}
	s += fmt.Sprintf("  %q", r.Transcript)
	if r.Rationale != "" {
		s += "  — " + r.Rationale
	}
	return s + redactionNote(r)
}

// counts is a summary's counts per label, in label order, each in its label's colour.
func (v *tailView) counts(c map[string]int) string {
	var parts []string
	for _, l := range append(append([]string(nil), wire.Labels...), wire.LabelUnsupported) {
		if c[l] > 0 {
			parts = append(parts, v.pal.label(l, fmt.Sprintf("%s %d", l, c[l]), 0))
		}
	}
	return strings.Join(parts, ", ")
}

// labelText is r's label with its confidence (when the model gave one), "unsupported" or "—"
// (no label).
func labelText(r *wire.Result) string {
	switch {
	case r.Label != "" && r.ScoresAvailable != nil && !*r.ScoresAvailable:
		return r.Label
	case r.Label != "":
		return fmt.Sprintf("%s %.2f", r.Label, r.Scores[r.Label])
	case !r.LanguageSupported:
		return wire.LabelUnsupported
	}
	return "—"
}

// language is r's language code, "??" when none was identified.
func language(r *wire.Result) string {
	if r.Language == "" {
		return "??"
	}
	return r.Language
}

// callTime formats milliseconds from the start of a call as m:ss.s.
func callTime(ms int64) string {
	return fmt.Sprintf("%d:%04.1f", ms/60000, float64(ms%60000)/1000)
}

// shorten cuts s to at most n runes, at a space when there is one, marking the cut with "…".
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	if i := strings.LastIndexByte(string(r), ' '); i > 0 {
		return strings.TrimRight(string(r)[:i], " ,.;:") + "…"
	}
	return string(r) + "…"
}

// decodeTail decodes a message of the results stream: a summary when its subject ends in
// .summary, else a result.
func decodeTail(subject string, data []byte) (*wire.Result, *wire.Summary, error) {
	if strings.HasSuffix(subject, "."+wire.SummarySuffix) {
		var s wire.Summary
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, nil, fmt.Errorf("summary: %w", err)
		}
		return nil, &s, nil
	}
	var r wire.Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, nil, fmt.Errorf("result: %w", err)
	}
	return &r, nil, nil
}
