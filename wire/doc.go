// Package wire is sentio's wire contract on NATS: the subjects, the headers of audio input (clip
// and stream mode), the JSON of results and call summaries (versioned, with a JSON schema in
// schema/result.v1.json), the headers of DLQ entries, and the deterministic utterance id that makes
// replayed results duplicates JetStream drops.
//
// Everything a publisher or a subscriber needs to know lives here, so the README's "Wire contract"
// section and this package say the same thing.
package wire
