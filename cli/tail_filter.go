package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/wire"
)

// maxShownCalls bounds the calls a filtering tail remembers having shown results of (calls
// of clips never send a summary that would end their entry); past it the oldest are forgotten.
const maxShownCalls = 10000

// tailFilter selects the results `sentio tail` shows by role, label and language (each an
// allowed set; empty allows all), and shows a call's summary only when it has shown one of the
// call's results.
type tailFilter struct {
	roles, labels, languages []string
	shown                    map[string]bool
	order                    []string // shown's calls, oldest first
}

// newTailFilter validates the values of --role, --label and --language (lists of values;
// case does not matter) and returns the filter.
func newTailFilter(roles, labels, languages []string) (*tailFilter, error) {
	f := &tailFilter{shown: map[string]bool{}}
	for _, r := range roles {
		r = strings.ToLower(strings.TrimSpace(r))
		if r == "" {
			return nil, fmt.Errorf("--role: an empty role; give roles such as patient or clinician, comma-separated or repeated")
		}
		f.roles = append(f.roles, r)
	}
	allowed := append(slices.Clone(wire.Labels), wire.LabelUnsupported)
	for _, l := range labels {
		l = strings.ToLower(strings.TrimSpace(l))
		if !slices.Contains(allowed, l) {
			return nil, fmt.Errorf("--label %q: use %s or %s", l, strings.Join(allowed[:len(allowed)-1], ", "), allowed[len(allowed)-1])
		}
		f.labels = append(f.labels, l)
	}
	for _, l := range languages {
		l = strings.ToLower(strings.TrimSpace(l))
		if !slices.Contains(config.WhisperLanguages, l) {
			return nil, fmt.Errorf("--language %q: not an ISO 639-1 code of a language sentio can identify; use codes such as en, vi, zh, de or fr", l)
		}
		f.languages = append(f.languages, l)
	}
	return f, nil
}

// active reports whether the filter can leave anything out.
func (f *tailFilter) active() bool {
	return len(f.roles)+len(f.labels)+len(f.languages) > 0
}

// result reports whether r is shown, and remembers its call when it is.
func (f *tailFilter) result(r *wire.Result) bool {
	if !f.active() {
		return true
	}
	if !allows(f.roles, strings.ToLower(r.Role)) || !allows(f.labels, resultLabel(r)) || !allows(f.languages, r.Language) {
		return false
	}
	if !f.shown[r.CallID] {
		f.shown[r.CallID] = true
		f.order = append(f.order, r.CallID)
		if len(f.order) > maxShownCalls {
			delete(f.shown, f.order[0])
			f.order = f.order[1:]
		}
	}
	return true
}

// summary reports whether s is shown: always without filters, else when a result of its call
// was.
func (f *tailFilter) summary(s *wire.Summary) bool {
	return !f.active() || f.shown[s.CallID]
}

func allows(set []string, v string) bool {
	return len(set) == 0 || slices.Contains(set, v)
}

// resultLabel is r's label, "unsupported" for a language outside the configured set.
func resultLabel(r *wire.Result) string {
	if r.Label == "" && !r.LanguageSupported {
		return wire.LabelUnsupported
	}
	return r.Label
}
