//go:build race

package tokenize

// raceEnabled is true under go test -race, where the pure-Go tokenizers backend runs about ten
// times slower: the parity test then checks a sample of its fixtures.
const raceEnabled = true
