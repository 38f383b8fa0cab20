package wire

import (
	"fmt"
	"strings"
)

// SummarySuffix is the last subject token of a call summary: <result_subject>.<call_id>.summary.
const SummarySuffix = "summary"

// ValidCallID reports whether id can be one subject token: non-empty, at most 128 bytes, without
// spaces, dots, wildcards or control characters.
func ValidCallID(id string) error {
	if id == "" {
		return fmt.Errorf("call id is empty")
	}
	if len(id) > 128 {
		return fmt.Errorf("call id is %d bytes long; at most 128 are allowed", len(id))
	}
	if strings.ContainsAny(id, " .*>\t\r\n") {
		return fmt.Errorf("call id %q contains a space, dot or wildcard; use letters, digits, '-' and '_'", id)
	}
	return nil
}

// Subject joins a subject prefix and a call id.
func Subject(prefix, callID string) string { return prefix + "." + callID }

// SummarySubject is the subject of a call's summary.
func SummarySubject(resultPrefix, callID string) string {
	return resultPrefix + "." + callID + "." + SummarySuffix
}
