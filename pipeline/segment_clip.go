package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/asr/audio"
	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/segment"
	"github.com/sentio-health/sentio/stages"
	"github.com/sentio-health/sentio/wire"
)

// MaxClip is the longest clip decoded (asr.max_duration, 10 minutes when 0); longer clips are
// rejected as too large.
func MaxClip(cfg *config.Config) time.Duration {
	if cfg.ASR.MaxDuration > 0 {
		return cfg.ASR.MaxDuration
	}
	return audio.DefaultMaxDuration
}

// clip segments a whole recording: every utterance depends on the one input.
func (s *segmentStage) clip(ctx context.Context, it stages.Item[*Work], callID string, out stages.Emitter[*Work]) error {
	msg := it.V.Msg
	data := msg.Data
	if ref := msg.Header.Get(wire.HeaderObject); ref != "" {
		if msg.Fetch == nil {
			return stages.Reject(wire.ReasonObjectNotFound, "%s: %q names an object, but no object store is available", wire.HeaderObject, ref)
		}
		b, err := msg.Fetch.Object(ctx, ref)
		switch {
		case errors.Is(err, bus.ErrObjectRef):
			return stages.Reject(wire.ReasonBadObjectRef, "%s: %v", wire.HeaderObject, err)
		case errors.Is(err, bus.ErrObjectTooLarge):
			return stages.Reject(wire.ReasonTooLarge, "%s: %v", wire.HeaderObject, err)
		case errors.Is(err, jetstream.ErrObjectNotFound) || errors.Is(err, jetstream.ErrBucketNotFound):
			return stages.Reject(wire.ReasonObjectNotFound, "%s: object %q not found: %v", wire.HeaderObject, ref, err)
		case err != nil:
			return fmt.Errorf("fetching object %q: %w", ref, err)
		}
		data = b
	}
	if len(data) == 0 {
		return stages.Reject(wire.ReasonEmpty, "the clip is empty (no bytes and no %s reference)", wire.HeaderObject)
	}
	format, err := formatOf(msg.Header.Get(wire.HeaderCodec))
	if err != nil {
		return headerReject(err)
	}
	opt := audio.Options{Format: format, MaxDuration: s.maxClip}
	declared := 0
	if r := msg.Header.Get(wire.HeaderRate); r != "" {
		if declared, err = strconv.Atoi(strings.TrimSpace(r)); err != nil || declared < audio.MinSampleRate || declared > audio.MaxSampleRate {
			return stages.Reject(wire.ReasonBadRate, "%s: %q is not a sample rate between %d and %d Hz", wire.HeaderRate, r, audio.MinSampleRate, audio.MaxSampleRate)
		}
		opt.SampleRate = declared
	}
	if c := msg.Header.Get(wire.HeaderChannels); c != "" {
		if opt.Channels, err = strconv.Atoi(strings.TrimSpace(c)); err != nil || opt.Channels < 1 || opt.Channels > wire.MaxChannels {
			return stages.Reject(wire.ReasonBadHeader, "%s: %q is not a channel count between 1 and %d", wire.HeaderChannels, c, wire.MaxChannels)
		}
	}
	mixed, err := audio.Decode(data, opt)
	if err != nil {
		return decodeRejection(err)
	}
	if declared != 0 && format == audio.FormatAuto && mixed.SourceRate != declared {
		return stages.Reject(wire.ReasonBadRate, "%s declares %d Hz but the WAV header says %d Hz", wire.HeaderRate, declared, mixed.SourceRate)
	}
	prompt, err := wire.PromptOf(msg.Header)
	if err != nil {
		return headerReject(err)
	}
	roleHeader := msg.Header.Get(wire.HeaderRole)
	nroles := len(strings.Split(roleHeader, ","))
	chans := [][]float32{mixed.Samples}
	roles := wire.Roles(roleHeader, 1)
	if mixed.SourceChannels > 1 && roleHeader != "" && nroles == mixed.SourceChannels {
		roles = wire.Roles(roleHeader, mixed.SourceChannels)
		chans = chans[:0]
		for i := 1; i <= mixed.SourceChannels; i++ {
			opt.Channel = i
			a, err := audio.Decode(data, opt)
			if err != nil {
				return decodeRejection(err)
			}
			chans = append(chans, a.Samples)
		}
	}
	start := time.Now()
	n := 0
	for ch, pcm := range chans {
		cuts, err := segment.Clip(pcm, s.vad, s.opts)
		if err != nil {
			return fmt.Errorf("voice activity detection: %w", err)
		}
		for _, c := range cuts {
			w := &Work{CallID: callID, Mode: wire.ModeClip, Channel: ch, Role: roles[ch], Start: c.Start,
				PCM: pcm[c.Start:c.End], Arrived: arrivedOf(it.Deps), Clip: msg.StreamSeq, Prompt: prompt}
			w.timed(StageSegment, start)
			s.inFlight.emitted(callID, it.Deps)
			out(stages.Item[*Work]{V: w, Deps: it.Deps, Key: callID})
			n++
		}
	}
	if n == 0 {
		s.log.Info("clip holds no speech; nothing to publish", "call_id", callID, "duration_ms", mixed.Duration().Milliseconds())
	}
	if strings.EqualFold(msg.Header.Get(wire.HeaderEnd), "true") {
		out(stages.Item[*Work]{V: &Work{CallID: callID, Mode: wire.ModeClip, Summary: true, Clip: msg.StreamSeq}, Deps: it.Deps, Key: callID})
	}
	return nil
}
