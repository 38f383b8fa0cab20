package segment

import (
	"time"

	"github.com/sentio-health/sentio/config"
)

// Options shape utterances.
type Options struct {
	// Pause is the silence that ends an utterance (default 500 ms); shorter pauses are merged.
	Pause time.Duration
	// Pad is the silence kept before and after the speech of an utterance (default 150 ms).
	Pad time.Duration
	// MaxUtterance is the longest utterance (default pipeline.max_utterance's, from
	// config.Defaults); longer speech is cut.
	MaxUtterance time.Duration
}

func (o Options) withDefaults() Options {
	if o.Pause <= 0 {
		o.Pause = 500 * time.Millisecond
	}
	if o.Pad < 0 {
		o.Pad = 0
	} else if o.Pad == 0 {
		o.Pad = 150 * time.Millisecond
	}
	if o.MaxUtterance <= 0 {
		o.MaxUtterance = config.Defaults().Pipeline.MaxUtterance
	}
	return o
}

func samples(d time.Duration) int64 { return int64(d) * SampleRate / int64(time.Second) }

// Cut is one utterance inside a buffer: sample positions [Start, End) in that buffer.
type Cut struct {
	Start, End int64
}

// Cuts turns VAD spans of an n-sample buffer into utterances: spans closer than Pause merged,
// padded by Pad, and split so none is longer than MaxUtterance.
func Cuts(spans []Span, n int64, o Options) []Cut {
	o = o.withDefaults()
	pause, pad, maxLen := samples(o.Pause), samples(o.Pad), samples(o.MaxUtterance)
	var merged []Cut
	for _, s := range spans {
		c := Cut{s.StartMS * SampleRate / 1000, min(s.EndMS*SampleRate/1000, n)}
		if c.End <= c.Start {
			continue
		}
		if len(merged) > 0 && c.Start-merged[len(merged)-1].End < pause {
			merged[len(merged)-1].End = c.End
			continue
		}
		merged = append(merged, c)
	}
	var out []Cut
	for i, c := range merged {
		c.Start = max(0, c.Start-pad)
		c.End = min(n, c.End+pad)
		if i > 0 && c.Start < out[len(out)-1].End {
			c.Start = out[len(out)-1].End
		}
		for c.End-c.Start > maxLen {
			out = append(out, Cut{c.Start, c.Start + maxLen})
			c.Start += maxLen
		}
		if c.End > c.Start {
			out = append(out, c)
		}
	}
	return out
}

// Clip segments a whole recording.
func Clip(pcm []float32, vad VAD, o Options) ([]Cut, error) {
	if len(pcm) == 0 {
		return nil, nil
	}
	spans, err := vad.Segments(pcm)
	if err != nil {
		return nil, err
	}
	return Cuts(spans, int64(len(pcm)), o), nil
}
