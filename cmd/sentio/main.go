// Command sentio turns live medical conversations into explained sentiment; see README.md.
package main

import (
	"os"

	"github.com/sentio-health/sentio/cli"
)

func main() {
	os.Exit(cli.Execute())
}
