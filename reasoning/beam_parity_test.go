package reasoning

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// beamRecord is a line of testdata/transformer/beam.jsonl.gz (beam_fixtures.py there):
// transformers' generate continuing a label prefix of a text.
type beamRecord struct {
	Text      string  `json:"text"`
	IDs       []int64 `json:"ids"`
	Label     string  `json:"label"`
	Beams     int     `json:"beams"`
	EOS       int64   `json:"eos"`
	MaxNew    int     `json:"max_new"`
	Generated []int64 `json:"generated"`
	Decoder   string  `json:"decoder_sha256"`
}

// TestSeq2SeqSearchParity: greedy and beam search (widths 1, 3, 4) through the Go runtime's KV
// cache, all texts of a fixture group in one batch, give exactly the ids transformers' generate
// gives after each label prefix, also with the end of sequence taken to be a likely id so that
// hypotheses end early and at different steps.
func TestSeq2SeqSearchParity(t *testing.T) {
	dir := txDir(t, "random-s2s")
	m := openTx(t, "random-s2s", func(o *Options) { o.Config.OcclusionTopK = 0 })
	rt := m.rt.(*seq2seqRT)
	b, err := os.ReadFile(filepath.Join(dir, rt.spec.ONNX.Decoder))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	sha := hex.EncodeToString(sum[:])
	f, err := os.Open(filepath.Join("testdata", "transformer", "beam.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	// Groups: the same label, width and end-of-sequence choice for every text (the fixture
	// writes, per text and label, three end-of-sequence choices × the widths).
	groups := map[string][]beamRecord{}
	var order []string
	seen := map[string]int{}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r beamRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Decoder != sha {
			t.Skipf("beam.jsonl.gz was made for another decoder graph than %s: run testdata/transformer/beam_fixtures.py again", dir)
		}
		k := fmt.Sprintf("%s/%s/%d", r.Text, r.Label, r.Beams)
		key := fmt.Sprintf("%s/%d/%d", r.Label, r.Beams, seen[k])
		seen[k]++
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, key := range order {
		recs := groups[key]
		rows := make([][]int64, len(recs))
		for i, r := range recs {
			rows[i] = r.IDs
		}
		idx := make([]int, len(rows))
		for i := range idx {
			idx[i] = i
		}
		label := slices.Index(Labels, recs[0].Label)
		s, err := rt.score(rows, idx, true)
		if err != nil {
			t.Fatal(err)
		}
		searches := make([]decodeSearch, len(recs))
		for i, r := range recs {
			s.label[i] = label
			searches[i] = newSearch(r.Beams, r.MaxNew, r.EOS)
		}
		err = rt.runSearches(s, idx, len(rt.prefix[label]), searches)
		s.release()
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range recs {
			n++
			if got := searches[i].result(); !slices.Equal(got, r.Generated) {
				t.Errorf("%.30q %s, %d beams, eos %d: Go %v, transformers %v", r.Text, r.Label, r.Beams, r.EOS, got, r.Generated)
			}
		}
	}
	if n == 0 {
		t.Fatal("no fixture records")
	}
	t.Logf("%d searches identical to transformers' generate", n)
}
