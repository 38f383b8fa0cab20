package wire

// ConversationMetrics are a call summary's conversation metrics, computed from the call's
// results. Times are in milliseconds; a span of speech is an utterance's [start_ms, end_ms] as
// voice activity detection cut it.
type ConversationMetrics struct {
	// DurationMS is the part of the call the metrics cover: from its start to the end of its last
	// utterance (audio after that is not known to the summary).
	DurationMS int64 `json:"duration_ms"`
	// TalkMS is the time someone talks: the union of every utterance's span.
	TalkMS int64 `json:"talk_ms"`
	// NonTalkMS is the time nobody talks: DurationMS - TalkMS.
	NonTalkMS int64 `json:"non_talk_ms"`
	// OverlapMS is the time two or more roles talk at once (two-channel calls; 0 for mono).
	OverlapMS int64 `json:"overlap_ms"`
	// Interruptions counts the utterances that start while another role's utterance is running
	// (see RoleMetrics.Interruptions).
	Interruptions int `json:"interruptions"`
	// Roles are the metrics of each role (agent, customer ...).
	Roles map[string]RoleMetrics `json:"roles"`
}

// RoleMetrics are one role's conversation metrics.
type RoleMetrics struct {
	// Utterances is the role's number of utterances.
	Utterances int `json:"utterances"`
	// TalkMS is the time the role talks: the union of its utterances' spans.
	TalkMS int64 `json:"talk_ms"`
	// NonTalkMS is the time the role does not talk: the call's DurationMS - TalkMS.
	NonTalkMS int64 `json:"non_talk_ms"`
	// Words is the number of words the role said (the results' words; a transcript without word
	// timings counts its space-separated words).
	Words int `json:"words"`
	// WordsPerMinute is the role's speaking rate: Words per minute of TalkMS (0 without talk).
	WordsPerMinute float64 `json:"words_per_minute"`
	// Interruptions counts the role's utterances that start while an utterance of another role
	// is running: strictly after that utterance's start and before its end. An utterance that
	// starts inside several others counts once.
	Interruptions int `json:"interruptions"`
	// Interrupted counts the role's utterances during which another role's utterance starts (once
	// per interrupting utterance).
	Interrupted int `json:"interrupted"`
	// LoudnessDBFS is the role's loudness over all its speech: the utterances' RMS levels
	// combined by duration (the RMS level of their audio together), in dBFS; absent when no
	// result carries a loudness.
	LoudnessDBFS *float64 `json:"loudness_dbfs,omitempty"`
	// Trend is the role's sentiment over the call, per quarter of DurationMS (four entries).
	Trend []TrendEntry `json:"trend"`
}

// TrendEntry is one role's sentiment in one part of the call: the labelled utterances whose
// midpoint falls in [StartMS, EndMS) (the last quarter includes its end).
type TrendEntry struct {
	// Quarter is 1 to 4.
	Quarter int   `json:"quarter"`
	StartMS int64 `json:"start_ms"`
	EndMS   int64 `json:"end_ms"`
	// Utterances is the number of the role's labelled utterances in it.
	Utterances int `json:"utterances"`
	// Counts is the number of those utterances per label.
	Counts map[string]int `json:"counts"`
	// MeanScores is the mean score of each label over them; absent without utterances.
	MeanScores map[string]float64 `json:"mean_scores,omitempty"`
}
