package wire

// Reason codes carried in HeaderReasonCode, besides those declared with the headers.
const (
	// ReasonBadObjectRef: the HeaderObject reference can never be read: it names a bucket other
	// than sentio's, the object name is empty or holds control characters or invalid UTF-8, or
	// the object is a link.
	ReasonBadObjectRef = "bad_object_ref"
)

// ReasonCodes are every reason code a DLQ entry can carry, in the order of the README's list.
var ReasonCodes = []string{
	ReasonNotAudio, ReasonTruncated, ReasonEmpty, ReasonTooLarge, ReasonBadRate, ReasonBadHeader,
	ReasonMissingHeader, ReasonSequenceGap, ReasonLateChunk, ReasonObjectNotFound, ReasonBadObjectRef,
	ReasonCallIDReused, ReasonInternal, ReasonMaxDeliveries,
}
