package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// redactRecord is an output record of `sentio redact`.
type redactRecord struct {
	ID       json.RawMessage `json:"id"`
	Lang     string          `json:"lang"`
	Text     string          `json:"text"`
	Line     int             `json:"line"`
	Error    string          `json:"error"`
	Entities []struct {
		Type       string
		Start, End int
	} `json:"entities"`
}

func redactRecords(t *testing.T, out string) []redactRecord {
	t.Helper()
	var recs []redactRecord
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r redactRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// sentio redact: one record per input in order, redacted in each language (given or detected),
// entities pointing at the placeholders; a bad line gives an error record and exit status 1.
func TestRedactCommand(t *testing.T) {
	in := `{"id": 1, "text": "My number is oh nine one two three four five six seven, Dr. Smith.", "lang": "en"}
{"id": 2, "text": "Meine Telefonnummer ist null eins sieben eins zwei drei vier fünf sechs."}
{"id": 3, "text": "我的电话是13812345678，王医生。"}
not json
{"id": 5, "text": "Tôi sinh ngày 3 tháng 3 năm 1985.", "lang": "vi"}
`
	out, errOut, code := sentioIn(t, in, "redact")
	if code != 1 || !strings.Contains(errOut, "1 of 5 records failed") {
		t.Errorf("status %d, stderr %q; want 1 and the count of failed records", code, errOut)
	}
	recs := redactRecords(t, out)
	want := []struct{ lang, text string }{
		{"en", "My number is [PHONE], Dr. [NAME]."},
		{"de", "Meine Telefonnummer ist [PHONE]."},
		{"zh", "我的电话是[PHONE]，[NAME]医生。"},
		{"", ""},
		{"vi", "Tôi sinh [DATE]."},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records; want %d:\n%s", len(recs), len(want), out)
	}
	for i, w := range want {
		r := recs[i]
		if i == 3 {
			if r.Line != 4 || !strings.Contains(r.Error, "not a JSON object") {
				t.Errorf("record 4: %+v; want an error for line 4", r)
			}
			continue
		}
		if r.Lang != w.lang || r.Text != w.text {
			t.Errorf("record %d: %s %q; want %s %q", i+1, r.Lang, r.Text, w.lang, w.text)
		}
		for _, e := range r.Entities {
			if got := string([]rune(r.Text)[e.Start:e.End]); got != "["+e.Type+"]" {
				t.Errorf("record %d: entity %+v spans %q, not its placeholder", i+1, e, got)
			}
		}
	}
}

// --mode tag keeps the text and lists the entities in it; --types limits them.
func TestRedactCommandTag(t *testing.T) {
	text := "Call Dr. Smith on 0912 345 678 before 3 March."
	out, errOut, code := sentioIn(t, `{"text": "`+text+`", "lang": "en"}`, "redact", "--mode", "tag", "--types", "PHONE,NAME")
	if code != 0 {
		t.Fatalf("status %d: %s", code, errOut)
	}
	r := redactRecords(t, out)[0]
	var got []string
	for _, e := range r.Entities {
		got = append(got, e.Type+":"+string([]rune(r.Text)[e.Start:e.End]))
	}
	if r.Text != text || strings.Join(got, ",") != "NAME:Smith,PHONE:0912 345 678" {
		t.Errorf("tag: %q %v; want the text kept with NAME:Smith and PHONE:0912 345 678 only", r.Text, got)
	}
	if _, errOut, code := sentioIn(t, "", "redact", "--types", "PHONE,SSN"); code == 0 || !strings.Contains(errOut, "SSN") {
		t.Errorf("--types with an unknown type: status %d, %q; want an error naming it", code, errOut)
	}
}

// --in and --out name the JSON Lines files (standard input and output otherwise): the records go
// to --out, nothing to standard output, and a failed record still gives exit status 1; an --in
// that cannot be opened is an error that names the flag.
func TestRedactCommandInOutFiles(t *testing.T) {
	dir := t.TempDir()
	inPath, outPath := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	in := `{"id": 1, "text": "Call me on 0912 345 678.", "lang": "en"}
not json
`
	if err := os.WriteFile(inPath, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, errOut, code := sentioIn(t, "", "redact", "--in", inPath, "--out", outPath)
	if code != 1 || !strings.Contains(errOut, "redact: 1 of 2 records failed") {
		t.Errorf("status %d, stderr %q; want 1 and the count of failed records", code, errOut)
	}
	if stdout != "" {
		t.Errorf("standard output %q; want nothing (the records go to --out)", stdout)
	}
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	recs := redactRecords(t, string(b))
	if len(recs) != 2 || recs[0].Text != "Call me on [PHONE]." || recs[1].Line != 2 || recs[1].Error == "" {
		t.Errorf("--out holds %+v; want the redacted record and an error record for line 2", recs)
	}

	_, errOut, code = sentioIn(t, "", "redact", "--in", filepath.Join(dir, "missing.jsonl"))
	if code == 0 || !strings.Contains(errOut, "--in:") {
		t.Errorf("status %d, stderr %q; want a failure that names --in", code, errOut)
	}
}
