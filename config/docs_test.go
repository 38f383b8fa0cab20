package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sentio-health/sentio/internal/testenv"
)

// TestReadmeConfigReferenceIsCurrent fails when README.md's configuration reference differs
// from what the struct's doc comments, defaults and rules generate.
func TestReadmeConfigReferenceIsCurrent(t *testing.T) {
	path := filepath.Join(testenv.RepoRoot(t), "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := UpdateReadme(readme)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(readme) {
		t.Fatal("README.md's configuration reference is out of date: run `go generate ./config` (or `sentio config docs --update README.md`)")
	}
}
