package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Override sets one key from the command line (a flag), after the file and the environment.
type Override struct {
	// Key is the dotted key, e.g. "log.level".
	Key string
	// Value is the value as typed (lists are comma-separated, durations like 30s).
	Value string
	// Flag names the flag for error messages, e.g. "--log-level".
	Flag string
}

// Load builds the effective configuration: [Defaults], then the YAML file at path (skipped when
// path is empty), then SENTIO_* environment variables (one per key: nats.tls.ca is
// SENTIO_NATS_TLS_CA; lists comma-separated), then overrides from flags. It then fills in the
// machine-dependent defaults, resolves relative paths and validates the result.
//
// The file is decoded strictly: an unknown key is an error naming the key and its line. Relative
// paths in the file are relative to the file's directory; relative paths from the environment or
// flags are relative to the working directory; the built-in model paths are looked up in the
// working directory, then beside the binary (<bin>/.., <bin>/../share/sentio).
//
// Every problem found is returned at once as [Errors].
func Load(path string, overrides ...Override) (*Config, error) {
	c := Defaults()
	c.sources = map[string]Source{}
	var errs Errors
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s (give an existing file with --config, or none to use the defaults)", ErrNoFile, path)
			}
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
		errs = append(errs, c.decodeYAML(path, data)...)
	}
	errs = append(errs, c.applyEnv()...)
	for _, o := range overrides {
		if err := c.Set(o.Key, o.Value, Source{Flag: o.Flag}); err != nil {
			errs = append(errs, err.(*Error))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	c.finish()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// SourceOf returns where the value of key came from.
func (c *Config) SourceOf(key string) Source {
	return c.sources[key]
}

// Set parses value for the dotted key and stores it, remembering src for error messages. The
// error is an [*Error] naming the key, the value and what is allowed.
func (c *Config) Set(key, value string, src Source) error {
	f, ok := fieldByKey(key)
	if !ok {
		return &Error{Source: src, Msg: unknownKeyMsg(key)}
	}
	if err := parseInto(f, f.value(c), value); err != nil {
		return &Error{Source: src, Key: key, Msg: err.Error()}
	}
	if c.sources == nil {
		c.sources = map[string]Source{}
	}
	c.sources[key] = src
	return nil
}

func unknownKeyMsg(key string) string {
	var keys []string
	for _, f := range Fields() {
		keys = append(keys, f.Key)
	}
	msg := fmt.Sprintf("unknown key %q", key)
	if s := closest(key, keys); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg
}

func (c *Config) applyEnv() Errors {
	var errs Errors
	for _, f := range Fields() {
		v, ok := os.LookupEnv(f.Env)
		if !ok {
			continue
		}
		if err := c.Set(f.Key, v, Source{Env: f.Env}); err != nil {
			errs = append(errs, err.(*Error))
		}
	}
	return errs
}

// parseInto parses s into v according to its type; the error says what was expected.
func parseInto(f Field, v reflect.Value, s string) error {
	switch {
	case v.Type() == alertRulesType:
		return parseAlertRules(v, s)
	case v.Type() == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a duration (allowed: a number with a unit ns, us, ms, s, m or h, e.g. 30s or 1m30s)", s)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a bool (allowed: true, false)", s)
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		v.SetInt(n)
	case v.Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetFloat(x)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var items []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, p)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported type %s for %s", v.Type(), f.Key)
	}
	return nil
}

// decodeYAML walks the YAML document alongside the struct so that every key is checked, every
// value parsed by the same rules as the environment, and every line remembered.
func (c *Config) decodeYAML(file string, data []byte) Errors {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file: the defaults
		}
		return Errors{{Source: Source{File: file}, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	var errs Errors
	c.decodeMapping(file, root, reflect.ValueOf(c).Elem(), "", &errs)
	return errs
}

func (c *Config) decodeMapping(file string, n *yaml.Node, v reflect.Value, prefix string, errs *Errors) {
	n = deref(n)
	if isNull(n) {
		return
	}
	where := prefix
	if where == "" {
		where = "the top level"
	}
	if n.Kind != yaml.MappingNode {
		*errs = append(*errs, &Error{Source: Source{File: file, Line: n.Line}, Key: prefix,
			Msg: fmt.Sprintf("expected a mapping of keys for %s (allowed keys: %s)", where, strings.Join(structKeys(v.Type()), ", "))})
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], deref(n.Content[i+1])
		full := kn.Value
		if prefix != "" {
			full = prefix + "." + kn.Value
		}
		src := Source{File: file, Line: kn.Line}
		if first, dup := seen[kn.Value]; dup {
			*errs = append(*errs, &Error{Source: src, Msg: fmt.Sprintf("duplicate key %q (first set on line %d)", full, first)})
			continue
		}
		seen[kn.Value] = kn.Line
		idx := fieldIndex(v.Type(), kn.Value)
		if idx < 0 {
			msg := fmt.Sprintf("unknown key %q (allowed: %s)", full, strings.Join(structKeys(v.Type()), ", "))
			if s := closest(kn.Value, structKeys(v.Type())); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", strings.TrimPrefix(prefix+"."+s, "."))
			}
			*errs = append(*errs, &Error{Source: src, Msg: msg})
			continue
		}
		fv := v.Field(idx)
		if fv.Type() == alertRulesType {
			rs, es := decodeAlertRules(vn, file, c.sources)
			fv.Set(reflect.ValueOf(rs))
			*errs = append(*errs, es...)
			c.sources[full] = src
			continue
		}
		if fv.Kind() == reflect.Struct && fv.Type() != durationType {
			c.decodeMapping(file, vn, fv, full, errs)
			continue
		}
		f, _ := fieldByKey(full)
		if err := decodeLeaf(f, fv, vn); err != nil {
			*errs = append(*errs, &Error{Source: Source{File: file, Line: vn.Line}, Key: full, Msg: err.Error()})
			continue
		}
		c.sources[full] = src
	}
}

func decodeLeaf(f Field, v reflect.Value, n *yaml.Node) error {
	if isNull(n) {
		v.Set(reflect.Zero(v.Type()))
		return nil
	}
	if v.Kind() == reflect.Slice {
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("expected a list, e.g. [vi, en], got %q", n.Value)
		}
		items := make([]string, 0, len(n.Content))
		for _, it := range n.Content {
			it = deref(it)
			if it.Kind != yaml.ScalarNode {
				return fmt.Errorf("expected a list of strings (line %d holds a %s)", it.Line, kindName(it))
			}
			items = append(items, it.Value)
		}
		v.Set(reflect.ValueOf(items))
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a %s, got a %s", f.TypeName(), kindName(n))
	}
	return parseInto(f, v, n.Value)
}

func fieldIndex(t reflect.Type, key string) int {
	for i := 0; i < t.NumField(); i++ {
		if yamlKey(t.Field(i)) == key {
			return i
		}
	}
	return -1
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	}
	return "node"
}

// pathKeys are the keys holding file or directory paths, resolved by [Config.finish].
var pathKeys = []string{
	"state_dir", "nats.creds", "nats.nkey", "nats.tls.ca", "nats.tls.cert", "nats.tls.key",
	"asr.model", "asr.vad_model", "reasoning.model_dir", "reasoning.llm.fallback_dir",
	"reasoning.llm.tls.ca", "reasoning.llm.tls.cert", "reasoning.llm.tls.key",
}

// finish fills in the machine-dependent defaults and resolves relative paths.
func (c *Config) finish() {
	if _, set := c.sources["state_dir"]; !set && c.StateDir == "" {
		c.StateDir = defaultStateDir()
	}
	if _, set := c.sources["asr.vad_model"]; !set && c.ASR.VADModel == "" {
		if p, ok := findInstalled(DefaultVADModel); ok {
			c.ASR.VADModel = p
		}
	}
	for _, key := range pathKeys {
		f, _ := fieldByKey(key)
		v := f.value(c)
		v.SetString(c.resolvePath(v.String(), c.sources[key]))
	}
}

func (c *Config) resolvePath(p string, src Source) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if src.File != "" {
		return filepath.Join(filepath.Dir(absOr(src.File)), p)
	}
	if src == (Source{}) { // a built-in default: look where installations keep it
		if found, ok := findInstalled(p); ok {
			return found
		}
	}
	return absOr(p)
}

// findInstalled looks for the relative path rel in the working directory, then beside the
// binary: <bin>/.. (a source checkout running bin/sentio) and <bin>/../share/sentio (/usr/bin
// with /usr/share/sentio).
func findInstalled(rel string) (string, bool) {
	var bases []string
	if wd, err := os.Getwd(); err == nil {
		bases = append(bases, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		up := filepath.Dir(filepath.Dir(exe))
		bases = append(bases, up, filepath.Join(up, "share", "sentio"))
	}
	for _, b := range bases {
		p := filepath.Join(b, rel)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

func absOr(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
