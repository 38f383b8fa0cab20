//go:build !race

package tokenize

// raceEnabled is true under go test -race; see race_test.go.
const raceEnabled = false
