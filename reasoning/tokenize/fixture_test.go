package tokenize

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// fixtureDir holds the Python references written by make_fixtures.py.
const fixtureDir = "../testdata/tokenize"

// fixtureSpec is a fixture's first line: the Spec to open the tokenizer with and its directory.
type fixtureSpec struct {
	Spec
	Dir string `json:"dir"`
}

// fixtureRecord is one text's Python reference.
type fixtureRecord struct {
	I         int                `json:"i"`
	IDs       []int64            `json:"ids"`
	Pieces    []int64            `json:"pieces"`
	PiecesAt  *int               `json:"pieces_at"`
	PiecesN   int                `json:"pieces_n"`
	Decoded   *string            `json:"decoded"`
	Trunc     map[string][]int64 `json:"trunc"`
	pieces    []int64
	decodedTo string
}

// fixture is one tokenizer's references.
type fixture struct {
	name    string
	spec    fixtureSpec
	records []fixtureRecord
}

// readJSONLines calls f with each line of the gzip JSON lines file path.
func readJSONLines(t testing.TB, path string, f func(line []byte) error) {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	zr, err := gzip.NewReader(file)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		if err := f(sc.Bytes()); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// loadTexts returns the fixtures' texts.
func loadTexts(t testing.TB) []string {
	var texts []string
	readJSONLines(t, filepath.Join(fixtureDir, "texts.jsonl.gz"), func(line []byte) error {
		var s string
		err := json.Unmarshal(line, &s)
		texts = append(texts, s)
		return err
	})
	return texts
}

// loadFixtures returns every tokenizer fixture, texts resolved.
func loadFixtures(t testing.TB, texts []string) []fixture {
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "*.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	var out []fixture
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".jsonl.gz")
		if name == "texts" {
			continue
		}
		fx := fixture{name: name}
		first := true
		readJSONLines(t, p, func(line []byte) error {
			if first {
				first = false
				var h struct{ Spec fixtureSpec }
				if err := json.Unmarshal(line, &h); err != nil {
					return err
				}
				fx.spec = h.Spec
				return nil
			}
			var r fixtureRecord
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			r.pieces = r.Pieces
			if r.PiecesAt != nil {
				r.pieces = r.IDs[*r.PiecesAt : *r.PiecesAt+r.PiecesN]
			}
			if r.pieces == nil {
				r.pieces = []int64{}
			}
			r.decodedTo = texts[r.I]
			if r.Decoded != nil {
				r.decodedTo = *r.Decoded
			}
			fx.records = append(fx.records, r)
			return nil
		})
		out = append(out, fx)
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in %s: run make_fixtures.py there", fixtureDir)
	}
	return out
}

// mismatches counts one fixture's differences from Python, by check, with a few examples.
type mismatches struct {
	texts    int // texts with any difference, known ones excepted
	known    int // texts with a known difference (see knownDifference)
	byCheck  map[string]int
	examples []string
}

func (m *mismatches) add(check, example string) {
	m.byCheck[check]++
	if m.byCheck[check] <= 3 {
		m.examples = append(m.examples, check+": "+example)
	}
}

func (m *mismatches) String() string {
	keys := make([]string, 0, len(m.byCheck))
	for k := range m.byCheck {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + strconv.Itoa(m.byCheck[k]) + " ")
	}
	return b.String()
}

// compare checks tk against one fixture's records.
func compare(tk Tokenizer, texts []string, fx fixture) *mismatches {
	m := &mismatches{byCheck: map[string]int{}}
	for _, r := range fx.records {
		text := texts[r.I]
		bad := false
		fail := func(check, detail string) {
			bad = true
			m.add(check, strconv.Quote(clip(text))+" "+detail)
		}
		ids, encErr := tk.Encode(text, 0)
		if encErr != nil {
			fail("encode-error", encErr.Error())
		} else if !slices.Equal(ids, r.IDs) {
			fail("ids", diff(ids, r.IDs))
		}
		pieces, err := tk.EncodePieces(text)
		if err != nil {
			fail("pieces-error", err.Error())
		} else if !slices.Equal(pieces, r.pieces) {
			fail("pieces", diff(pieces, r.pieces))
		}
		// Decode(Encode(text)) against Python's decode of its own ids (the same ids when the
		// ids check passes).
		if encErr != nil {
			ids = r.IDs
		}
		dec, err := tk.Decode(ids)
		if err != nil {
			fail("decode-error", err.Error())
		} else if dec != r.decodedTo {
			fail("decode", "go "+strconv.Quote(clip(dec))+" python "+strconv.Quote(clip(r.decodedTo)))
		}
		for mx, want := range r.Trunc {
			max, _ := strconv.Atoi(mx)
			got, err := tk.Encode(text, max)
			if err != nil {
				fail("trunc-error", err.Error())
			} else if !slices.Equal(got, want) {
				fail("trunc", "max "+mx+" "+diff(got, want))
			}
		}
		if bad && knownDifference(fx.spec.Type, text) {
			m.known++
		} else if bad {
			m.texts++
		}
	}
	return m
}

// diff describes where two id lists first differ.
func diff(got, want []int64) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-2)
	return "first difference at " + strconv.Itoa(i) + ": go " + show(got, lo, i+3) + " python " + show(want, lo, i+3) +
		" (lengths " + strconv.Itoa(len(got)) + ", " + strconv.Itoa(len(want)) + ")"
}

func show(ids []int64, lo, hi int) string {
	hi = min(hi, len(ids))
	if lo >= hi {
		return "[]"
	}
	s := make([]string, 0, hi-lo)
	for _, id := range ids[lo:hi] {
		s = append(s, strconv.FormatInt(id, 10))
	}
	return "[" + strings.Join(s, " ") + "]"
}

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// specialLiterals are special tokens' strings as the test tokenizers name them.
var specialLiterals = []string{"<s>", "</s>", "<unk>", "<pad>", "<mask>", "[CLS]", "[SEP]", "[MASK]", "[UNK]", "[PAD]"}

// knownDifference reports whether a difference on text is a known gap of the tokenizers backend:
// a special token's string written in the text (e.g. "<s>"), which Python turns into the special
// id and github.com/sugarme/tokenizer drops (its PreTokenizedString.Normalize discards the splits
// that already carry a token).
func knownDifference(typ, text string) bool {
	if typ != TypeTokenizers {
		return false
	}
	for _, s := range specialLiterals {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}
