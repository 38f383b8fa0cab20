package wire

// ReasonInternal: processing the input crashed sentio (a panic in a pipeline stage, recovered).
// The input may be fine; the DLQ entry keeps it for a replay once the bug is fixed.
const ReasonInternal = "internal_error"
