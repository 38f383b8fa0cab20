//go:build !whisper

package cli

// whisperVersion says that this build has no whisper.cpp.
func whisperVersion() string {
	return "not built in (build with -tags whisper, as make build does)"
}
