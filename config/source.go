package config

import (
	"errors"
	"fmt"
	"strings"
)

// Source says where a setting's value came from: the built-in default, a line of the config
// file, an environment variable or a command-line flag.
type Source struct {
	// File is the config file as it was named (empty when the value is not from a file).
	File string
	// Line is the 1-based line in File.
	Line int
	// Env is the environment variable that set the value.
	Env string
	// Flag is the command-line flag that set the value, with its dashes.
	Flag string
}

// String renders the source the way error messages begin: "config.yaml:12",
// "environment SENTIO_LOG_LEVEL", "flag --log-level" or "default".
func (s Source) String() string {
	switch {
	case s.Flag != "":
		return "flag " + s.Flag
	case s.Env != "":
		return "environment " + s.Env
	case s.File != "" && s.Line > 0:
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	case s.File != "":
		return s.File
	}
	return "default"
}

// Error is one problem with the configuration: where it is, which key, and what is wrong
// (including what is allowed).
type Error struct {
	// Source is where the offending value came from.
	Source Source
	// Key is the dotted key, e.g. "nats.url" (empty for problems with the file as a whole).
	Key string
	// Msg says what is wrong and what is allowed.
	Msg string
}

// Error renders "config.yaml:12: log.level: "verbose" is not allowed (allowed: ...)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source.String())
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found at once, so an operator can fix them in one go.
type Errors []*Error

// Error lists the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the individual errors to errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// asError returns es as an error, or nil when it is empty.
func (es Errors) asError() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// ErrNoFile is wrapped by the error [Load] returns when the config file does not exist.
var ErrNoFile = errors.New("config file not found")
