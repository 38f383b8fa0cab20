//go:build race

package reasoning

// raceEnabled is true under go test -race, where ONNX Runtime calls and the searches run several
// times slower: the transformer parity tests then check a fifth of the fixture records from text.
const raceEnabled = true
