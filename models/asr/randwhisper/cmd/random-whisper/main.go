// Command random-whisper writes whisper.cpp models of official whisper dimensions with random
// weights (package randwhisper) and prints each file's path, one a line. A file already there is
// reused. From the repository root, in the toolbox:
//
//	go run ./models/asr/randwhisper/cmd/random-whisper -eot tiny base
//
// The models measure speed, not accuracy: see the package documentation.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sentio-health/sentio/models/asr/randwhisper"
)

func main() {
	dir := flag.String("dir", "", "the directory of the files (default: "+randwhisper.CacheDir()+", the asr tests' cache)")
	src := flag.String("src", "models/asr/ggml-sentio-small.bin", "the whisper.cpp model whose mel filters and token texts are copied")
	eot := flag.Bool("eot", false, "the variant whose decoder ends each window at once (encoder and language detection only)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: random-whisper [flags] tiny|base|small ...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	for _, name := range flag.Args() {
		d, err := randwhisper.Official(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		p, err := randwhisper.Cached(*dir, *src, d, *eot)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(p)
	}
}
