// Package segment cuts audio into utterances: voice activity detection (whisper.cpp's Silero VAD
// when configured, an energy detector otherwise), speech stretches merged across short pauses,
// a maximum utterance length, and, for stream mode, per-channel buffering of ordered chunks with
// cuts on chunk boundaries.
//
// Stream-mode cuts fall on chunk boundaries, and a decision depends only on the audio since the
// previous cut. That is what makes a replay deterministic: after a crash the first unacked chunk
// is exactly where the state was last reset, so the replayed chunks yield the same utterances
// (same start samples, same ids), and JetStream drops the duplicate results.
package segment
