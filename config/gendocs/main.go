// Command gendocs rewrites the configuration reference in README.md from the config package
// (`go generate ./config`, or `sentio config docs --update README.md`).
package main

import (
	"fmt"
	"os"

	"github.com/sentio-health/sentio/config"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs README.md")
		os.Exit(2)
	}
	old, err := os.ReadFile(os.Args[1])
	if err == nil {
		var updated []byte
		if updated, err = config.UpdateReadme(old); err == nil {
			err = os.WriteFile(os.Args[1], updated, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
