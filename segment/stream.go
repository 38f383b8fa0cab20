package segment

import "time"

// Utterance is speech cut from a stream channel.
type Utterance[K any] struct {
	// Start is the utterance's first sample, at 16 kHz from the start of the call.
	Start int64
	// PCM is the utterance's audio.
	PCM []float32
	// Tokens are the chunks the cut consumed; every utterance of one cut carries all of them,
	// so a chunk is acked only when each utterance that used it is published.
	Tokens []K
}

// Channel buffers the chunks of one channel of one call and cuts utterances on chunk boundaries.
// K is whatever the caller tracks per chunk (its transaction).
type Channel[K any] struct {
	vad  VAD
	opts Options

	start  int64 // position of buf[0] in the call, 16 kHz samples
	buf    []float32
	tokens []K
	ends   []int   // buffer length after each token's chunk
	poss   []int64 // position each token's chunk declared
	speech bool    // speech was heard since the last cut
	// decided is the buffer length at the last decision.
	decided int64
}

// Tolerance is how far (in 16 kHz samples) a chunk's declared position may be from the end of
// the buffered audio and still continue it: resampling chunk by chunk rounds lengths.
const Tolerance = 160

// NewChannel returns an empty channel state.
func NewChannel[K any](vad VAD, o Options) *Channel[K] {
	return &Channel[K]{vad: vad, opts: o.withDefaults()}
}

// Empty reports whether nothing is buffered.
func (c *Channel[K]) Empty() bool { return len(c.tokens) == 0 }

// Held is how many chunks the channel holds (their tokens are not released yet).
func (c *Channel[K]) Held() int { return len(c.tokens) }

// Next is the call position right after the buffered audio.
func (c *Channel[K]) Next() int64 { return c.start + int64(len(c.buf)) }

// Push appends one chunk starting at call position pos (16 kHz samples) and returns what can be
// decided now: utterances to emit, and tokens of chunks that turned out to hold no speech (they
// can be acked). A chunk that does not continue the buffer (pos ≠ Next) first flushes it.
func (c *Channel[K]) Push(pos int64, pcm []float32, tok K) (utts []Utterance[K], silent []K, err error) {
	if !c.Empty() && (pos < c.Next()-Tolerance || pos > c.Next()+Tolerance) {
		u, s, err := c.Flush()
		if err != nil {
			return nil, nil, err
		}
		utts, silent = append(utts, u...), append(silent, s...)
	}
	if c.Empty() {
		c.start, c.buf = pos, c.buf[:0]
	}
	c.buf = append(c.buf, pcm...)
	c.tokens = append(c.tokens, tok)
	c.ends = append(c.ends, len(c.buf))
	c.poss = append(c.poss, pos)

	// Decide at most once per Step of new audio (small chunks are decided on together), on the
	// tail only (the pause that ends an utterance, some context and the new audio), so the cost
	// per chunk does not grow with the utterance nor with the chunk rate; the whole buffer is
	// analysed when the tail suggests a cut, and the cut is made only if that analysis agrees.
	// The tail is a function of the buffer, so a replay decides the same.
	n := int64(len(c.buf))
	if n-c.decided < samples(Step) && n < samples(c.opts.MaxUtterance) {
		return utts, silent, nil
	}
	tail := min(n, samples(c.opts.Pause)+tailContext+(n-c.decided))
	c.decided = n
	spans, err := c.vad.Segments(c.buf[n-tail:])
	if err != nil {
		return utts, silent, err
	}
	if len(spans) > 0 {
		c.speech = true
	}
	if !c.speech {
		// No speech yet: release the chunks older than the onset window, which stays as the
		// onset of speech that may begin in it (the VAD needs its minimum speech length and the
		// cut its padding before the onset, whatever the chunk length).
		silent = append(silent, c.keepRecent(c.onset())...)
		return utts, silent, nil
	}
	trailing := tail
	if len(spans) > 0 {
		trailing = tail - min(tail, spans[len(spans)-1].EndMS*SampleRate/1000)
	}
	if trailing < samples(c.opts.Pause) && n < samples(c.opts.MaxUtterance) {
		return utts, silent, nil
	}
	full, err := c.vad.Segments(c.buf)
	if err != nil {
		return utts, silent, err
	}
	if len(full) > 0 && n < samples(c.opts.MaxUtterance) && n-full[len(full)-1].EndMS*SampleRate/1000 < samples(c.opts.Pause) {
		// The whole buffer says the speech goes on: the tail missed it.
		return utts, silent, nil
	}
	u, sl := c.cut(full, true)
	return append(utts, u...), append(silent, sl...), nil
}

// Step is the least new audio between two decisions of a channel.
const Step = 200 * time.Millisecond

// tailContext is the audio before the pause window given to the VAD with each chunk.
var tailContext = int64(SampleRate)

// Flush cuts whatever is buffered (end of stream, idle timeout).
func (c *Channel[K]) Flush() ([]Utterance[K], []K, error) {
	if c.Empty() {
		return nil, nil, nil
	}
	spans, err := c.vad.Segments(c.buf)
	if err != nil {
		return nil, nil, err
	}
	if len(spans) == 0 {
		toks := c.tokens
		c.reset()
		return nil, toks, nil
	}
	u, s := c.cut(spans, false)
	return u, s, nil
}

// Abandon drops the buffer and returns its tokens (shutdown: they will be redelivered).
func (c *Channel[K]) Abandon() []K {
	toks := c.tokens
	c.reset()
	return toks
}

// cut emits the utterances of the buffer. With keepTail, the chunks after the end of the last
// utterance stay buffered (they hold no speech of it, and may hold the padding before the next
// one); otherwise the buffer is emptied.
func (c *Channel[K]) cut(spans []Span, keepTail bool) ([]Utterance[K], []K) {
	cuts := Cuts(spans, int64(len(c.buf)), c.opts)
	kept := len(c.tokens) // the first chunk kept
	if keepTail && len(cuts) > 0 {
		end := cuts[len(cuts)-1].End
		for k := 1; k < len(c.tokens); k++ {
			if int64(c.ends[k-1]) >= end {
				kept = k
				break
			}
		}
	}
	toks := append([]K(nil), c.tokens[:kept]...)
	var out []Utterance[K]
	for _, ct := range cuts {
		pcm := append([]float32(nil), c.buf[ct.Start:ct.End]...)
		out = append(out, Utterance[K]{Start: c.start + ct.Start, PCM: pcm, Tokens: toks})
	}
	if kept < len(c.tokens) {
		c.drop(kept)
		c.speech, c.decided = false, 0
	} else {
		c.reset()
	}
	if len(out) == 0 {
		return nil, toks
	}
	return out, nil
}

// onset is the audio kept while no speech has been heard: the pause window and its context,
// plus the padding kept before speech.
func (c *Channel[K]) onset() int64 {
	return samples(c.opts.Pause) + tailContext + samples(c.opts.Pad)
}

// keepRecent releases the oldest chunks while the chunks after them still cover at least window
// samples, and returns their tokens.
func (c *Channel[K]) keepRecent(window int64) []K {
	n := len(c.buf)
	k := 0 // the first chunk kept
	for i := len(c.tokens) - 1; i >= 1; i-- {
		if int64(n-c.ends[i-1]) >= window {
			k = i
			break
		}
	}
	if k == 0 {
		return nil
	}
	released := append([]K(nil), c.tokens[:k]...)
	c.drop(k)
	return released
}

// drop removes the first k chunks from the buffer.
func (c *Channel[K]) drop(k int) {
	cut := c.ends[k-1]
	// The kept chunks start where the first of them said it does, as they would after a replay
	// from it.
	c.start = c.poss[k]
	c.buf = append(c.buf[:0], c.buf[cut:]...)
	c.decided = max(0, c.decided-int64(cut))
	c.tokens = append(c.tokens[:0], c.tokens[k:]...)
	c.poss = append(c.poss[:0], c.poss[k:]...)
	ends := c.ends[k:]
	for i := range ends {
		ends[i] -= cut
	}
	c.ends = append(c.ends[:0], ends...)
}

func (c *Channel[K]) reset() {
	c.start += int64(len(c.buf))
	if cap(c.buf) > 4*SampleRate {
		c.buf = nil // an utterance's buffer (up to max_utterance) is not kept for the next one
	} else {
		c.buf = c.buf[:0]
	}
	c.decided = 0
	c.tokens = nil
	c.ends = nil
	c.poss = nil
	c.speech = false
}
