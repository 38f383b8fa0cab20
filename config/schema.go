package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/sentio-health/sentio/internal/editdist"
)

// Field describes one leaf setting of [Config]: its dotted key (from the yaml tags), the
// environment variable that overrides it, and how to reach it by reflection.
type Field struct {
	// Key is the dotted YAML path, e.g. "nats.tls.ca".
	Key string
	// Env is the environment variable overriding it, e.g. "SENTIO_NATS_TLS_CA".
	Env string
	// Secret fields are redacted when the configuration is printed.
	Secret bool
	// Type is the Go type of the field.
	Type reflect.Type
	// GoPath is the Go field path, e.g. "NATS.TLS.CA".
	GoPath string

	parent string // the Go name of the struct type declaring the field, e.g. "TLS"
	name   string // the Go field name, e.g. "CA"

	index []int
}

var durationType = reflect.TypeOf(time.Duration(0))

// Fields returns every leaf setting of [Config] in declaration order.
func Fields() []Field {
	var out []Field
	walkType(reflect.TypeOf(Config{}), "", "", nil, &out)
	return out
}

// structKeys returns the yaml keys of the fields of struct type t (for "allowed: ..." messages).
func structKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if k := yamlKey(t.Field(i)); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

func walkType(t reflect.Type, prefix, goPrefix string, index []int, out *[]Field) {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		key := yamlKey(sf)
		if key == "" {
			continue
		}
		idx := append(append([]int(nil), index...), i)
		k, gp := key, sf.Name
		if prefix != "" {
			k, gp = prefix+"."+key, goPrefix+"."+sf.Name
		}
		if sf.Type.Kind() == reflect.Struct && sf.Type != durationType {
			walkType(sf.Type, k, gp, idx, out)
			continue
		}
		*out = append(*out, Field{
			Key:    k,
			Env:    "SENTIO_" + strings.ToUpper(strings.ReplaceAll(k, ".", "_")),
			Secret: sf.Tag.Get("secret") == "true",
			Type:   sf.Type,
			GoPath: gp,
			parent: t.Name(),
			name:   sf.Name,
			index:  idx,
		})
	}
}

func yamlKey(sf reflect.StructField) string {
	if !sf.IsExported() {
		return ""
	}
	tag := strings.Split(sf.Tag.Get("yaml"), ",")[0]
	if tag == "-" || tag == "" {
		return ""
	}
	return tag
}

// value returns the addressable field f inside c.
func (f Field) value(c *Config) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(f.index)
}

// fieldByKey finds the field with the dotted key.
func fieldByKey(key string) (Field, bool) {
	for _, f := range Fields() {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// TypeName is the user-facing name of the field's type (string, bool, integer, number,
// duration, list of strings).
func (f Field) TypeName() string {
	switch {
	case f.Type == durationType:
		return "duration"
	case f.Type.Kind() == reflect.String:
		return "string"
	case f.Type.Kind() == reflect.Bool:
		return "bool"
	case f.Type.Kind() == reflect.Int || f.Type.Kind() == reflect.Int64:
		return "integer"
	case f.Type.Kind() == reflect.Float64:
		return "number"
	case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.String:
		return "list of strings"
	case f.Type == alertRulesType:
		return "list of rules"
	}
	return f.Type.String()
}

func formatValue(v reflect.Value) string {
	switch {
	case v.Type() == durationType:
		return formatDuration(time.Duration(v.Int()))
	case v.Kind() == reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = v.Index(i).String()
		}
		return strings.Join(parts, ",")
	default:
		return fmt.Sprint(v.Interface())
	}
}

// formatDuration prints whole units without trailing zero components ("30s", "5m", "24h").
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// closest returns the candidate nearest to s by edit distance, or "" when none is close.
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/2+2
	for _, c := range candidates {
		if d := editdist.Distance([]byte(s), []byte(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
