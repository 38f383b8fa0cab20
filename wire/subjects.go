package wire

import (
	"fmt"
	"strings"
)

// SummarySuffix is the last subject token of a call summary: <result_subject>.<call_id>.summary.
const SummarySuffix = "summary"

// MaxCallIDLen is the longest call id, in bytes.
const MaxCallIDLen = 128

// ValidCallID reports whether id is a call id: 1 to 128 bytes of ASCII letters, digits and
// '-', '_', ':', '=', '@', '+'. The set is safe as one NATS subject token, in file names, logs and
// URLs; anything else (dots, wildcards, spaces, '/', control characters, non-ASCII) is refused.
func ValidCallID(id string) error {
	if id == "" {
		return fmt.Errorf("call id is empty")
	}
	if len(id) > MaxCallIDLen {
		return fmt.Errorf("call id is %d bytes long; at most %d are allowed", len(id), MaxCallIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_:=@+", c) >= 0 {
			continue
		}
		return fmt.Errorf("call id %q has %q at byte %d; use ASCII letters, digits and - _ : = @ +", id, c, i)
	}
	return nil
}

// Subject joins a subject prefix and a call id.
func Subject(prefix, callID string) string { return prefix + "." + callID }

// SummarySubject is the subject of a call's summary.
func SummarySubject(resultPrefix, callID string) string {
	return resultPrefix + "." + callID + "." + SummarySuffix
}
