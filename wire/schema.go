package wire

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaFiles holds the versioned JSON schemas of results (schema/result.v1.json ...) and of
// alert events (schema/event.v1.json).
//
//go:embed schema/*.json
var SchemaFiles embed.FS

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error

	eventSchemaOnce sync.Once
	eventSchema     *jsonschema.Schema
	eventSchemaErr  error
)

// compileSchema compiles the embedded schema file name (e.g. result.v1.json).
func compileSchema(name string) (*jsonschema.Schema, error) {
	raw, err := SchemaFiles.ReadFile("schema/" + name)
	if err != nil {
		return nil, err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(name, v); err != nil {
		return nil, err
	}
	return c.Compile(name)
}

// validateWith checks doc against schema s (err: the error compiling it); what names the
// document in errors.
func validateWith(doc []byte, what string, s *jsonschema.Schema, err error) error {
	if err != nil {
		return fmt.Errorf("wire: loading the %s schema: %w", what, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("wire: %s is not JSON: %w", what, err)
	}
	return s.Validate(inst)
}

// Validate checks one result or summary JSON document against schema/result.v1.json.
func Validate(doc []byte) error {
	schemaOnce.Do(func() { schema, schemaErr = compileSchema("result.v" + SchemaVersion + ".json") })
	return validateWith(doc, "result", schema, schemaErr)
}

// ValidateEvent checks one alert event JSON document against schema/event.v1.json.
func ValidateEvent(doc []byte) error {
	eventSchemaOnce.Do(func() { eventSchema, eventSchemaErr = compileSchema("event.v" + EventSchemaVersion + ".json") })
	return validateWith(doc, "event", eventSchema, eventSchemaErr)
}

// MarshalResult encodes r with its schema version set.
func MarshalResult(r *Result) ([]byte, error) {
	r.SchemaVersion = SchemaVersion
	return json.Marshal(r)
}
