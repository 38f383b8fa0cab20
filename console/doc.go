// Package console is the operator console the daemon serves on its HTTP listener (http.console):
// a page (HTML, JavaScript and CSS embedded in the binary, no CDN) that shows the calls in
// progress and recently ended, each utterance with its label, confidence, transcript, evidence,
// rationale, language and latency, the call summaries as a sentiment trend per role, the DLQ with
// its reasons, and model, health and throughput figures.
//
// The data comes from JetStream: ordered, ephemeral consumers on the results stream (results and
// summaries) and on the DLQ stream, read from [History] ago, fill a bounded window of recent
// calls ([MaxCalls], [MaxUtterances] per call, [MaxDLQ] rejects). Browsers follow it with
// server-sent events: a snapshot of the window, then every change. A client that cannot keep up
// ([ClientBuffer] events behind) is disconnected, never waited for: the feed goes on for the
// others, and the page reconnects and starts again from a fresh snapshot.
//
// The page itself carries no data. The data endpoints require a bearer token when one is
// configured (http.console_token); the page asks for it and keeps it in the tab's session
// storage. Transcripts, rationales and reasons are put into the page as text, never as HTML.
package console
