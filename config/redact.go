package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// EntityTypes are the values of redact.types (package redact's types).
var EntityTypes = []string{"PHONE", "DATE", "TIME", "AGE", "ID", "AMOUNT", "NUMBER", "EMAIL", "URL", "NAME"}

func init() {
	rules["redact.mode"] = oneOf("off", "redact", "tag")
	rules["redact.types"] = entityTypes()
	rules["redact.reason_on"] = oneOf("original", "redacted")
	rules["redact.min_spoken_digits"] = intRange(2, 30)
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
