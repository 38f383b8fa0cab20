// Package alerts evaluates the alert rules of alerts.rules on a call's results: a negative streak
// of a role, a phrase in the transcript, a long silence, a language switch, a label's score over
// a threshold. It is pure logic: the pipeline's publish stage keeps one [Call] per call, feeds it
// each result as it is published and publishes the [wire.Event]s it returns.
//
// An utterance is compared with the call's utterances that come before it in time (by start,
// then channel) among those the Call holds, so the same results give the same events whatever
// order they were added in, as long as each utterance's predecessors were added before it.
package alerts
