// Package stages is sentio's pipeline machinery, shaped like Benthos: a [Txn] (a transaction on
// one input message) travels with the work derived from that message, through a chain of stages
// each run by its own pool of workers behind a bounded queue. The delivery rule it enforces:
//
//   - an input is acked only when every item that depends on it has been released by the last
//     stage without error (the publish stage releases after the PubAck);
//   - a transient failure Naks the input with a delay (after a few in-place retries); on its last
//     allowed failed delivery, or on a permanent failure ([Reject]), the input is rejected instead:
//     it is written to the DLQ with its headers and a reason, then terminated. Only failed
//     deliveries count (see [Tracker]): a redelivery because the process died is not a failure.
//     A rejection whose DLQ entry cannot be written leaves the input pending (Naked), to be
//     rejected again;
//   - a panic in a stage is recovered: the item's inputs are rejected as internal_error, the
//     worker and every other input go on;
//   - a call into code that cannot be cancelled (whisper.cpp, ONNX Runtime) is registered with
//     a [Watchdog]: past its deadline, the worker is hung and the daemon gets restarted;
//   - while an input is unsettled, the [Tracker] sends InProgress so its ack deadline does not
//     expire mid-work;
//   - queues are bounded and Submit blocks when the first one is full, so a slow stage pushes
//     back to the consumer, which stops fetching (max ack pending bounds the rest).
//
// Reference counting makes fan-out (one clip, many utterances) and fan-in (many stream chunks, one
// utterance) the same thing: an [Item] holds one reference on each Txn it depends on; emitting an
// item takes references for it; the runner drops the references of an item once its stage is done
// with it; a stage that keeps a Txn beyond Process (the segmenter holding chunks) calls [Retain]
// and later [Release]. When the last reference goes, the Txn settles.
package stages
