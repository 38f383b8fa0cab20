//go:build whisper

package pipeline

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zaf/g711"

	"github.com/sentio-health/sentio/asr/audio"

	"github.com/sentio-health/sentio/wire"
)

// BenchmarkSoakReplay regenerates one call of a BenchmarkSoakReal run (SENTIO_SOAK_REPLAY=
// seed:lane:call, the seed its log prints, the lane and call of the call id soakr-<tag>-l<lane>-c<call>)
// and sends it alone, without load, three ways: as the soak sent it (20 ms frames, µ-law 8 kHz on odd
// lanes), as one clip, and decoded whole as a pcm_s16le 16 kHz stream of 20 ms frames. It prints
// each one's utterances and transcripts, to tell a cut or transcript that depends on load from one
// that depends on stream mode or on decoding chunk by chunk.
//
//	SENTIO_SOAK_REPLAY=1796302099881406742:1:10 toolbox/run go test -tags whisper -run '^$' \
//	    -bench BenchmarkSoakReplay -benchtime 1x ./pipeline/
func BenchmarkSoakReplay(b *testing.B) {
	spec := os.Getenv("SENTIO_SOAK_REPLAY")
	if spec == "" {
		b.Skip("set SENTIO_SOAK_REPLAY=seed:lane:call")
	}
	f := strings.Split(spec, ":")
	if len(f) != 3 {
		b.Fatalf("SENTIO_SOAK_REPLAY=%q: want seed:lane:call", spec)
	}
	seed, _ := strconv.ParseInt(f[0], 10, 64)
	lane, _ := strconv.Atoi(f[1])
	call, _ := strconv.Atoi(f[2])
	gen := realCall(b, "rep")
	rng := rand.New(rand.NewSource(seed + int64(lane)*7919))
	rng.Int63n(int64(3 * time.Second))
	var c *soakCall
	for n := 0; n <= call; n++ {
		c = gen(lane, n, rng)
		if n < call {
			rng.Intn(2800)
		}
	}
	fmt.Fprintf(os.Stderr, "call %s codec %s rate %d, %d ms, bursts %+v\n", c.id, c.codec, c.rate, c.lengthMS, c.bursts)
	r := soakRealRig(b)
	s := &soak{r: r}
	for i := range c.frames {
		if err := s.publish(c, i, i == len(c.frames)-1); err != nil {
			b.Fatal(err)
		}
	}
	var raw []byte
	for _, fr := range c.frames {
		if c.codec == wire.CodecULaw {
			fr = g711.DecodeUlaw(fr)
		}
		raw = append(raw, fr...)
	}
	pcm := make([]float32, len(raw)/2)
	for i := range pcm {
		pcm[i] = float32(int16(binary.LittleEndian.Uint16(raw[2*i:]))) / 32768
	}
	clipID := c.id + "-clip"
	r.clip(clipID, wav(pcm, c.rate), nil)
	// The same audio decoded whole (as the clip is), sent as a pcm_s16le 16 kHz stream of 20 ms.
	whole, err := audio.Decode(wav(pcm, c.rate), audio.Options{})
	if err != nil {
		b.Fatal(err)
	}
	s16ID := c.id + "-s16"
	for _, cm := range chunks(s16ID, whole.Samples, 20) {
		r.publish(wire.Subject(r.cfg.NATS.AudioSubject, s16ID), cm.c.Header(), cm.data)
	}
	for _, id := range []string{c.id, clipID, s16ID} {
		res := results(b, collect(b, r.js, r.cfg.NATS.ResultStream, "sentio.results."+id, len(c.bursts)+1, 2*time.Minute))
		sort.Slice(res, func(i, j int) bool { return res[i].StartMS < res[j].StartMS })
		fmt.Fprintf(os.Stderr, "%s: %d results\n", id, len(res))
		for _, x := range res {
			fmt.Fprintf(os.Stderr, "  %d-%d ms %s %q\n", x.StartMS, x.EndMS, x.Language, x.Transcript)
		}
	}
}

// BenchmarkSoakChunkedResampling (SENTIO_SOAK_RESAMPLE=1) measures what decoding 8 kHz µ-law
// chunk by chunk, as stream mode does, costs against decoding the same audio whole (clip mode):
// the SNR of a 440 Hz tone's 16 kHz samples, chunked against whole, per chunk length.
func BenchmarkSoakChunkedResampling(b *testing.B) {
	if os.Getenv("SENTIO_SOAK_RESAMPLE") == "" {
		b.Skip("set SENTIO_SOAK_RESAMPLE=1")
	}
	pcm := make([]float32, 8000*4)
	for i := range pcm {
		pcm[i] = float32(0.3 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	ul := g711.EncodeUlaw(s16(pcm))
	opt := audio.Options{Format: audio.FormatMulaw, SampleRate: 8000, Channels: 1, Channel: 1}
	whole, err := audio.Decode(ul, opt)
	if err != nil {
		b.Fatal(err)
	}
	for _, ms := range []int{20, 40, 200, 1000} {
		per := 8000 * ms / 1000
		var chunked []float32
		for i := 0; i < len(ul); i += per {
			a, err := audio.Decode(ul[i:min(i+per, len(ul))], opt)
			if err != nil {
				b.Fatal(err)
			}
			chunked = append(chunked, a.Samples...)
		}
		var sig, diff float64
		for i := 0; i < min(len(whole.Samples), len(chunked)); i++ {
			d := float64(whole.Samples[i] - chunked[i])
			sig += float64(whole.Samples[i]) * float64(whole.Samples[i])
			diff += d * d
		}
		b.ReportMetric(10*math.Log10(sig/diff), fmt.Sprintf("snr-%dms-dB", ms))
	}
}
