package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// EntityTypes are the values of redact.types (package redact's types).
var EntityTypes = []string{"PHONE", "DATE", "TIME", "AGE", "ID", "AMOUNT", "NUMBER", "EMAIL", "URL", "NAME"}

// redactRules are the rules of the redact keys (merged into rules).
var redactRules = map[string]rule{
	"redact.mode":              oneOf("off", "redact", "tag"),
	"redact.types":             entityTypes(),
	"redact.reason_on":         oneOf("original", "redacted"),
	"redact.min_spoken_digits": intRange(2, 30),
}

// entityTypes is the rule of redact.types: a non-empty list of distinct known entity types.
func entityTypes() rule {
	return rule{"a non-empty list of distinct entity types among " + strings.Join(EntityTypes, ", "), func(v reflect.Value) string {
		if v.Len() == 0 {
			return "is empty"
		}
		seen := map[string]bool{}
		for i := 0; i < v.Len(); i++ {
			t := v.Index(i).String()
			if !slices.Contains(EntityTypes, t) {
				return fmt.Sprintf("%q is not an entity type", t)
			}
			if seen[t] {
				return fmt.Sprintf("%q is listed twice", t)
			}
			seen[t] = true
		}
		return ""
	}}
}
