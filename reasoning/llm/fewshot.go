package llm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

// LoadExamples reads few-shot examples from a JSON Lines file (one Example a line), grouped by
// language in file order.
func LoadExamples(path string) (map[string][]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("llm: few-shot examples: %w", err)
	}
	defer f.Close()
	out := map[string][]Example{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e Example
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("llm: few-shot examples %s line %d: %v", path, line, err)
		}
		if e.Lang == "" || e.Text == "" || !isLabel(e.Label) || e.Rationale == "" {
			return nil, fmt.Errorf("llm: few-shot examples %s line %d: needs lang, text, a label among negative, neutral, positive and a rationale", path, line)
		}
		out[e.Lang] = append(out[e.Lang], e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("llm: few-shot examples %s: %w", path, err)
	}
	return out, nil
}
