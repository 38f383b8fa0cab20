//go:build !race

package reasoning

// raceEnabled is true under go test -race; see race_test.go.
const raceEnabled = false
