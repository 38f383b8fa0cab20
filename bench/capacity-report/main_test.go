package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const header = "model\tn\tstep_s\tcalls\tutterances\tresults\tlost\tdoubled\tdlq\tlat_p50_ms\tlat_p95_ms\tlat_p99_ms\tlat_max_ms\tasr_p50_ms\tasr_p95_ms\tcpu_proc_pct\tcpu_machine_pct\tload1_start\tload1_end\tpace_lag_max_ms\tpass\twall_s"

// rows are two models' steps as BenchmarkCapacity writes them, the bisection's step (N=5) last,
// and a repeated N=1 of tiny whose last row counts.
var rows = `# bound: p99 <= 1500ms, no result lost; step 20s of calls; N up to 8
# model bundled: models/asr/ggml-sentio-small.bin (4 MB)
` + header + `
bundled	1	20	2	9	9	0	0	0	900	1100	1200	1200	300	450	40	70	3.1	3.0	1.0	true	60
bundled	2	20	4	18	18	0	0	0	950	1200	1300	1300	300	450	80	90	3.0	3.2	1.0	true	61
bundled	3	20	6	27	27	0	0	0	1000	1400	1450	1500	300	450	120	95	3.2	3.4	1.0	true	62
bundled	4	20	8	36	36	0	0	0	1300	2500	2900	3100	300	450	190	99	3.4	4.1	1.0	false	70
tiny	1	20	2	9	9	0	0	0	900	1000	5000	5000	300	450	40	70	3.1	3.0	1.0	false	60
# config set:
` + header + `
tiny	1	20	2	9	9	0	0	0	900	1000	1100	1100	300	450	40	70	3.1	3.0	1.0	true	60
tiny	2	20	4	18	17	1	0	0	900	1000	1100	1100	300	450	40	70	3.1	3.0	1.0	false	60
bundled	6	20	8	36	36	0	0	0	1300	2500	1900	3100	300	450	190	99	3.4	4.1	1.0	false	70
bundled	5	20	8	36	36	0	0	0	1300	2500	1400	3100	300	450	190	99	3.4	4.1	1.0	true	70
base	1	20	2	9	9	0	0	0	900	1000	1100	1100	300	450	40	70	3.1	3.0	1.0	true	60
`

func TestSummaryPerModel(t *testing.T) {
	r, err := parse(strings.NewReader(rows))
	if err != nil {
		t.Fatal(err)
	}
	if r.bound != 1500 {
		t.Errorf("bound %v ms; want 1500", r.bound)
	}
	names, by := r.models()
	if strings.Join(names, " ") != "bundled tiny base" {
		t.Errorf("models %v", names)
	}
	want := map[string]string{
		// N=4 fails first; 5 passed afterwards (noise) but lies above a failure: 3.
		"bundled": "bundled: largest N with p99 <= 1.5 s: 3 (N=4: p99 2.90 s)",
		// The repeated N=1 counts its last row; N=2 lost a result.
		"tiny": "tiny: largest N with p99 <= 1.5 s: 1 (N=2: 1 results lost, p99 1.10 s)",
		"base": "base: largest N with p99 <= 1.5 s: 1 (every step passed; the largest tried, so at least 1)",
	}
	for _, m := range names {
		if got := summary(m, by[m], r.bound); got != want[m] {
			t.Errorf("summary\n got %s\nwant %s", got, want[m])
		}
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"bundled\t1\n", "line 1: a row before the header"},
		{header + "\nbundled\tone\t20\n", "line 2: column n: \"one\" is not a number"},
		{"# bound: p99 <= 2x\n", "line 1: the bound \"2x\" is not a positive duration"},
	} {
		if _, err := parse(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parse(%q): %v; want an error with %q", c.in, err, c.want)
		}
	}
}

func TestReportWritesMarkdownAndPNG(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "capacity.tsv")
	if err := os.WriteFile(in, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "report")
	if err := report(in, out); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "capacity.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"- bundled: largest N with p99 <= 1.5 s: 3", "| bundled | 4 | 8 | 36 | 1.30 | 2.50 | 2.90 | 3.10 | 0.30 / 0.45 | 0 | 0 | 0 | 190 | 99 | 3.4 → 4.1 | **no** |",
		"![p99 and p50 latency against N per model](capacity.png)", "- model bundled: models/asr/ggml-sentio-small.bin (4 MB)"} {
		if !bytes.Contains(md, []byte(s)) {
			t.Errorf("capacity.md lacks %q:\n%s", s, md)
		}
	}
	f, err := os.Open(filepath.Join(out, "capacity.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("capacity.png: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 500 || b.Dy() < 300 {
		t.Errorf("capacity.png is %v", b)
	}
	if err := report(filepath.Join(dir, "missing.tsv"), out); err == nil {
		t.Error("no error for a missing input")
	}
}
