package wire

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaFiles holds the versioned JSON schemas of results (schema/result.v1.json ...).
//
//go:embed schema/*.json
var SchemaFiles embed.FS

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// Validate checks one result or summary JSON document against schema/result.v1.json.
func Validate(doc []byte) error {
	schemaOnce.Do(func() {
		raw, err := SchemaFiles.ReadFile("schema/result.v" + SchemaVersion + ".json")
		if err != nil {
			schemaErr = err
			return
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("result.json", v); err != nil {
			schemaErr = err
			return
		}
		schema, schemaErr = c.Compile("result.json")
	})
	if schemaErr != nil {
		return fmt.Errorf("wire: loading the result schema: %w", schemaErr)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("wire: result is not JSON: %w", err)
	}
	return schema.Validate(inst)
}

// MarshalResult encodes r with its schema version set.
func MarshalResult(r *Result) ([]byte, error) {
	r.SchemaVersion = SchemaVersion
	return json.Marshal(r)
}
