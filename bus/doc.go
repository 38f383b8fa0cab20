// Package bus is sentio's JetStream plumbing: it creates the audio, result and DLQ streams and the
// durable pull consumers idempotently (one per partition of the audio stream, pinned to one
// instance at a time; see [Partitions] and [Group]), consumes input with backpressure, publishes
// results with a deterministic Nats-Msg-Id and waits for their PubAck, and writes rejected input
// to the DLQ with its original headers and a reason before terminating it.
package bus
