//go:build whisper

package cli

/*
#cgo LDFLAGS: -lwhisper
#include <whisper.h>
*/
import "C"

// whisperVersion is the version of the whisper.cpp library linked in.
func whisperVersion() string {
	return C.GoString(C.whisper_version())
}
