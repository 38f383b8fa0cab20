package config

import (
	"bytes"
	"net/url"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Redacted is the text that replaces a secret's value when the configuration is printed.
const Redacted = "REDACTED"

// Redacted returns a copy of c in which every field tagged secret:"true" that is set reads
// "REDACTED", and so does a password or token inside nats.url and reasoning.llm.url, for
// printing and logging.
func (c *Config) Redacted() *Config {
	r := *c
	r.ASR.Languages = append([]string(nil), c.ASR.Languages...)
	r.LangID.Languages = append([]string(nil), c.LangID.Languages...)
	for _, f := range Fields() {
		if v := f.value(&r); f.Secret && v.Kind() == reflect.String && v.String() != "" {
			v.SetString(Redacted)
		}
	}
	r.NATS.URL = RedactURLs(c.NATS.URL)
	r.Reasoning.LLM.URL = RedactURL(c.Reasoning.LLM.URL)
	return &r
}

// RedactURLs replaces the password (nats://user:REDACTED@host) or token (nats://REDACTED@host)
// in each URL of a comma-separated list.
func RedactURLs(list string) string {
	if !strings.Contains(list, "@") {
		return list
	}
	parts := strings.Split(list, ",")
	for i, p := range parts {
		parts[i] = RedactURL(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

// RedactURL replaces the password (https://user:REDACTED@host) or token (https://REDACTED@host)
// in one URL, such as reasoning.llm.url, whose password may hold a comma.
func RedactURL(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), Redacted)
		} else {
			u.User = url.User(Redacted)
		}
		return u.String()
	}
	// Not a URL Go parses (e.g. host:port with user information): everything before the last
	// '@' after the scheme goes.
	if at := strings.LastIndex(s, "@"); at >= 0 {
		scheme := ""
		if i := strings.Index(s, "://"); i >= 0 && i < at {
			scheme = s[:i+3]
		}
		return scheme + Redacted + s[at:]
	}
	return s
}

// YAML renders c as a YAML document that [Load] reads back (durations as 30s, lists in flow
// style). Values that did not come from the defaults carry a comment saying where they came
// from. It does not redact: call [Config.Redacted] first when printing.
func (c *Config) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c.node(reflect.ValueOf(c).Elem(), "")); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (c *Config) node(v reflect.Value, prefix string) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		key := yamlKey(t.Field(i))
		if key == "" {
			continue
		}
		full := strings.TrimPrefix(prefix+"."+key, ".")
		fv := v.Field(i)
		kn := &yaml.Node{Kind: yaml.ScalarNode, Value: key}
		var vn *yaml.Node
		switch {
		case fv.Kind() == reflect.Struct && fv.Type() != durationType:
			vn = c.node(fv, full)
		case fv.Type() == alertRulesType:
			vn = alertRulesNode(fv.Interface().([]AlertRule))
		case fv.Kind() == reflect.Slice:
			vn = &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for j := 0; j < fv.Len(); j++ {
				vn.Content = append(vn.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: fv.Index(j).String()})
			}
		default:
			vn = &yaml.Node{Kind: yaml.ScalarNode, Value: formatValue(fv)}
			if fv.Kind() == reflect.String {
				vn.Tag = "!!str"
				if fv.String() == "" {
					vn.Style = yaml.DoubleQuotedStyle
				}
			}
		}
		if src, ok := c.sources[full]; ok && src != (Source{}) {
			if vn.Kind == yaml.SequenceNode && vn.Style != yaml.FlowStyle {
				kn.LineComment = "from " + src.String() // a block list: on its key's line
			} else {
				vn.LineComment = "from " + src.String()
			}
		}
		m.Content = append(m.Content, kn, vn)
	}
	return m
}
