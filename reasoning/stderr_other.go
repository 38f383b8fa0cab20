//go:build !unix

package reasoning

// stderrFilter is a no-op where file descriptors cannot be redirected.
type stderrFilter struct{}

func captureStderr(string) (*stderrFilter, error) { return &stderrFilter{}, nil }

func (*stderrFilter) restore() (int, string) { return 0, "" }
