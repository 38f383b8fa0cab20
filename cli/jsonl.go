package cli

import (
	"bufio"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// jsonlFlags are the --in and --out flags of a JSON Lines command (`sentio reason`, `sentio
// redact`): one output record per input record, a failed record written as an error record.
type jsonlFlags struct {
	in, out string
}

// add declares --in and --out on cmd.
func (f *jsonlFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.in, "in", "", "input JSON Lines file (default standard input)")
	fs.StringVar(&f.out, "out", "", "output JSON Lines file (default standard output)")
}

// run opens --in and --out (standard input and output by default), runs stream over them and
// closes them. When some records failed it returns an error with exit status 1 that says how many,
// in the command's name.
func (f *jsonlFlags) run(cmd *cobra.Command, stream func(in io.Reader, out *bufio.Writer) (failed, total int, err error)) error {
	in, out, closeIO, err := openInOut(cmd, f.in, f.out)
	if err != nil {
		return err
	}
	defer closeIO()
	failed, total, err := stream(in, out)
	if err != nil {
		return err
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%s: %d of %d records failed (see their \"error\" fields)", cmd.Name(), failed, total)}
	}
	return nil
}
