package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sentio-health/sentio/langid"
	"github.com/sentio-health/sentio/redact"
)

// newRedactCmd builds `sentio redact`.
func newRedactCmd() *cobra.Command {
	var flags struct {
		configFlags
		jsonlFlags
		mode, lang string
		types      []string
	}
	cmd := &cobra.Command{
		Use:   "redact",
		Short: "Redact or tag personal and health identifiers in texts (JSON Lines in, JSON Lines out)",
		Long: "Read JSON Lines records with at least \"text\" (optional \"id\" and \"lang\", an ISO 639-1 code: vi, en,\n" +
			"zh, de or fr; without it the language is detected, and a text too short to tell gets only the rules\n" +
			"that need no language) and write one record per input, in order: the id, the language used, the text\n" +
			"(with --mode redact each entity replaced by its type in brackets, e.g. [PHONE]; with tag as it was)\n" +
			"and the entities [{type, start, end}] (code point offsets into that text). Types: PHONE, DATE, TIME,\n" +
			"AGE, ID, AMOUNT, NUMBER, EMAIL, URL, NAME. A record that cannot be read gives a record with \"line\"\n" +
			"and \"error\" instead; the others go on. The exit status is 0 when every record succeeded, 1 otherwise.\n" +
			"The types and redact.min_spoken_digits come from the redact section of the configuration.",
		Example: "  echo '{\"text\": \"My number is oh nine one two three four five six.\", \"lang\": \"en\"}' | sentio redact\n" +
			"  sentio redact --mode tag --types PHONE,NAME --in transcripts.jsonl --out tagged.jsonl",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if flags.mode != "redact" && flags.mode != "tag" {
				return fmt.Errorf("--mode %q: allowed: redact or tag", flags.mode)
			}
			if len(flags.types) > 0 {
				flags.set = append(flags.set, "redact.types="+strings.Join(flags.types, ","))
			}
			cfg, err := flags.load(cmd)
			if err != nil {
				return err
			}
			types, err := redact.ParseTypes(cfg.Redact.Types)
			if err != nil {
				return err
			}
			r, err := redact.New(redact.Options{Types: types, MinSpokenDigits: cfg.Redact.MinSpokenDigits})
			if err != nil {
				return err
			}
			var id *langid.Identifier
			if flags.lang == "" {
				// No whisper here to fall back on: lingua decides even on short texts.
				cfg.LangID.MinChars = 0
				if id, err = langid.New(cfg.LangID); err != nil {
					return err
				}
			}
			return flags.jsonlFlags.run(cmd, func(in io.Reader, out *bufio.Writer) (int, int, error) {
				return redactStream(r, id, flags.mode, flags.lang, in, out)
			})
		},
	}
	flags.configFlags.add(cmd)
	flags.jsonlFlags.add(cmd)
	f := cmd.Flags()
	f.StringVar(&flags.mode, "mode", "redact", "redact (replace entities by [TYPE]) or tag (keep the text, list the entities)")
	f.StringVar(&flags.lang, "lang", "", "the language of records without \"lang\" (default: detect each)")
	f.StringSliceVar(&flags.types, "types", nil, "entity types to find, comma separated (redact.types; default all)")
	return cmd
}

// redactOutput is an output record of `sentio redact`.
type redactOutput struct {
	ID       json.RawMessage `json:"id,omitempty"`
	Lang     string          `json:"lang"`
	Text     string          `json:"text"`
	Entities []redact.Entity `json:"entities"`
}

// redactStream redacts (or tags) every record of in and writes one record per input to out. A
// record without "lang" takes lang, or else the language id detects.
func redactStream(r *redact.Redactor, id *langid.Identifier, mode, lang string, in io.Reader, out *bufio.Writer) (failed, total int, err error) {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	err = readRecords(in, 256, func(chunk []lineRecord) error {
		for _, lr := range chunk {
			total++
			if lr.err != nil {
				failed++
				if err := enc.Encode(reasonError{ID: lr.rec.ID, Line: lr.line, Error: lr.err.Error()}); err != nil {
					return err
				}
				continue
			}
			text, l := *lr.rec.Text, strings.ToLower(lr.rec.Lang)
			if l == "" {
				l = lang
			}
			if l == "" && id != nil {
				l = id.Identify(text, "", 0, nil).Language
			}
			o := redactOutput{ID: lr.rec.ID, Lang: l, Text: text, Entities: r.Find(text, l)}
			if mode == "redact" {
				o.Text, o.Entities = redact.Apply(text, o.Entities)
			}
			if o.Entities == nil {
				o.Entities = []redact.Entity{}
			}
			if err := enc.Encode(o); err != nil {
				return err
			}
		}
		return nil
	})
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return failed, total, err
}
