package cli

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/sentio-health/sentio/asr/audio"
	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/daemon"
	"github.com/sentio-health/sentio/wire"
)

// publishOptions are the flags of `sentio publish`.
type publishOptions struct {
	nats                        natsFlags
	callID, mode, subject, role string
	prompt                      string
	realtime                    bool
	chunkMS                     int
}

// newPublishCmd builds `sentio publish`.
func newPublishCmd() *cobra.Command {
	var flags publishOptions
	cmd := &cobra.Command{
		Use:   "publish [flags] FILE...",
		Short: "Send audio files to sentio over NATS (clip or stream mode)",
		Long: "Publish audio files on <subject>.<call_id> for the daemon to analyse.\n\n" +
			"clip mode (default) sends each file as one message, as telehealth platforms do; files larger than\n" +
			"the server's maximum payload go through the NATS Object Store (bucket " + bus.ObjectBucket + ") with a\n" +
			wire.HeaderObject + " reference. stream mode decodes each file (WAV, or raw with --set-style headers) to\n" +
			"16 kHz and sends ordered chunks of --chunk-ms with the stream headers (call id, sequence number, codec,\n" +
			"rate, channels, role, offset, end of stream), paced at real time with --realtime, as call-center feeds do.\n" +
			"--prompt gives the call's custom vocabulary (" + wire.HeaderPrompt + ": drug and clinic names), on the clip or on\n" +
			"every chunk.\n\n" +
			"The call id is --call-id (suffixed -1, -2 ... with several files) or the file's base name. Every message\n" +
			"carries a Nats-Msg-Id, so publishing the same file twice within the stream's duplicate window is ignored.\n\n" +
			"It connects to the daemon's NATS server, found in the daemon's configuration (--config, SENTIO_*), as the\n" +
			"user publisher: with the embedded server, with the credentials in <state_dir>/auth/publisher.nk.",
		Example: "  sentio publish visit.wav\n" +
			"  sentio publish --mode stream --realtime --call-id call-42 --role customer call.wav\n" +
			"  sentio publish --nats tls://10.0.0.5:4222 --nkey publisher.nk recordings/*.wav",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			f := flags
			if f.mode != "clip" && f.mode != "stream" {
				return &exitError{code: 2, err: fmt.Errorf("--mode %q: use clip or stream", f.mode)}
			}
			if err := wire.CheckPrompt(f.prompt); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("--prompt: %w", err)}
			}
			if f.chunkMS < 10 || f.chunkMS > 10000 {
				return &exitError{code: 2, err: fmt.Errorf("--chunk-ms %d: use 10..10000", f.chunkMS)}
			}
			if f.callID != "" {
				if err := wire.ValidCallID(f.callID); err != nil {
					return &exitError{code: 2, err: fmt.Errorf("--call-id: %w", err)}
				}
			}
			nc, js, cfg, err := f.nats.dial("sentio publish", daemon.UserPublisher)
			if err != nil {
				return err
			}
			defer nc.Close()
			if !cmd.Flags().Changed("subject") {
				f.subject = cfg.NATS.AudioSubject
			}
			ctx := cmd.Context()
			var bar *progressbar.ProgressBar
			if len(files) > 1 && isatty.IsTerminal(os.Stderr.Fd()) {
				bar = progressbar.NewOptions(len(files), progressbar.OptionSetWriter(os.Stderr),
					progressbar.OptionSetDescription("publishing"), progressbar.OptionShowCount(),
					progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
			}
			var failed int
			for i, file := range files {
				id := callIDFor(f.callID, file, i, len(files))
				var err error
				if f.mode == "clip" {
					err = publishClip(ctx, nc, js, &f, id, file)
				} else {
					err = publishStream(ctx, js, &f, id, file)
				}
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					failed++
					fmt.Fprintf(os.Stderr, "sentio publish: %s: %v\n", file, err)
				} else if bar == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "published %s as call %s (%s)\n", file, id, f.mode)
				}
				if bar != nil {
					_ = bar.Add(1)
				}
			}
			if bar != nil {
				_ = bar.Finish()
				fmt.Fprintf(cmd.OutOrStdout(), "published %d of %d files (%s)\n", len(files)-failed, len(files), f.mode)
			}
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d files could not be published", failed, len(files))}
			}
			return nil
		},
	}
	def := config.Defaults()
	fl := cmd.Flags()
	flags.nats.add(fl, daemon.UserPublisher)
	fl.StringVar(&flags.callID, "call-id", "", "call id (default: the file's base name)")
	fl.StringVar(&flags.mode, "mode", "clip", "clip (one message per file) or stream (ordered chunks)")
	fl.BoolVar(&flags.realtime, "realtime", false, "stream mode: send chunks at the pace of the audio")
	fl.IntVar(&flags.chunkMS, "chunk-ms", 200, "stream mode: chunk length in milliseconds")
	fl.StringVar(&flags.subject, "subject", def.NATS.AudioSubject, "audio subject prefix (nats.audio_subject)")
	fl.StringVar(&flags.role, "role", "", "speaker role of the channel(s), comma separated (e.g. customer or agent,customer)")
	fl.StringVar(&flags.prompt, "prompt", "", "the call's custom vocabulary for whisper, e.g. \"amoxicillin, Saint Mary clinic\" (at most 512 bytes)")
	return cmd
}

// callIDFor names the call of the i-th of n files.
func callIDFor(given, file string, i, n int) string {
	if given != "" {
		if n == 1 {
			return given
		}
		return fmt.Sprintf("%s-%d", given, i+1)
	}
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	var b strings.Builder
	for _, r := range base {
		if r == '.' || r == ' ' || r == '*' || r == '>' || r < 0x20 {
			r = '_'
		}
		b.WriteRune(r)
	}
	id := b.String()
	if len(id) > 100 {
		id = id[:100]
	}
	if id == "" {
		id = "call"
	}
	return id
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// publishClip sends file as one message of call callID on o.subject (through the object store
// when it is larger than the server's maximum payload).
func publishClip(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, o *publishOptions, callID, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	m := nats.NewMsg(wire.Subject(o.subject, callID))
	m.Header.Set(wire.HeaderCallID, callID)
	m.Header.Set(wire.HeaderMode, string(wire.ModeClip))
	m.Header.Set(wire.HeaderEnd, "true")
	if o.role != "" {
		m.Header.Set(wire.HeaderRole, o.role)
	}
	if o.prompt != "" {
		m.Header.Set(wire.HeaderPrompt, o.prompt)
	}
	m.Header.Set(nats.MsgIdHdr, "clip-"+callID+"-"+digest(data))
	if int64(len(data))+4096 > nc.MaxPayload() {
		// The daemon's Setup makes the bucket with its replicas and retention (bus.ObjectStore).
		os, err := js.ObjectStore(ctx, bus.ObjectBucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			err = fmt.Errorf("no bucket %s: start the daemon (`sentio run`) first, it creates it", bus.ObjectBucket)
		}
		if err != nil {
			return fmt.Errorf("the clip (%d bytes) exceeds the %d-byte message limit and the object store is unavailable: %w", len(data), nc.MaxPayload(), err)
		}
		name := callID + "-" + digest(data)
		// The same clip again is already there; storing it anew would have the publisher purge
		// the old copy, which it may not do (it waits for the timeout, then leaves it).
		if info, err := os.GetInfo(ctx, name); err != nil || info.Size != uint64(len(data)) {
			if _, err := os.PutBytes(ctx, name, data); err != nil {
				return fmt.Errorf("storing the clip in the object store: %w", err)
			}
		}
		m.Header.Set(wire.HeaderObject, bus.ObjectBucket+"/"+name)
	} else {
		m.Data = data
	}
	return publishMsg(ctx, js, m)
}

func publishMsg(ctx context.Context, js jetstream.JetStream, m *nats.Msg) error {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := js.PublishMsg(pctx, m)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("no JetStream stream takes %s: start the daemon (`sentio run`) first, it creates the streams", m.Subject)
	}
	return err
}

// publishStream decodes file and sends it as the ordered chunks of call callID on o.subject,
// o.chunkMS long each, paced at real time with o.realtime.
func publishStream(ctx context.Context, js jetstream.JetStream, o *publishOptions, callID, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	a, err := audio.Decode(data, audio.Options{})
	if err != nil {
		return err
	}
	n := audio.SampleRate * o.chunkMS / 1000
	roles := []string{"unknown"}
	if o.role != "" {
		roles = wire.Roles(o.role, 1)
	}
	start := time.Now()
	for i := 0; i*n < len(a.Samples) || i == 0; i++ {
		end := min((i+1)*n, len(a.Samples))
		pcm := a.Samples[min(i*n, end):end]
		c := wire.Chunk{CallID: callID, Seq: uint64(i), Codec: wire.CodecS16LE, Rate: audio.SampleRate, Channels: 1,
			Roles: roles, End: end == len(a.Samples), Offset: int64(i * n), Prompt: o.prompt}
		m := nats.NewMsg(wire.Subject(o.subject, callID))
		m.Header = c.Header()
		m.Header.Set(nats.MsgIdHdr, fmt.Sprintf("chunk-%s-%d", callID, i))
		m.Data = make([]byte, 2*len(pcm))
		for j, v := range pcm {
			binary.LittleEndian.PutUint16(m.Data[2*j:], uint16(int16(max(-1, min(1, v))*32767)))
		}
		if o.realtime {
			due := start.Add(time.Duration(end) * time.Second / audio.SampleRate)
			select {
			case <-time.After(time.Until(due)):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := publishMsg(ctx, js, m); err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
		if c.End {
			break
		}
	}
	return nil
}
