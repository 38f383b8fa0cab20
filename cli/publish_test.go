package cli_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// writeWAV writes sec seconds of a 16 kHz mono tone.
func writeWAV(t *testing.T, sec float64) string {
	t.Helper()
	n := int(sec * 16000)
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(16000), uint32(32000), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(2*n))
	for i := 0; i < n; i++ {
		binary.Write(&b, binary.LittleEndian, int16(8000*math.Sin(2*math.Pi*300*float64(i)/16000)))
	}
	p := filepath.Join(t.TempDir(), fmt.Sprintf("tone-%v.wav", sec))
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// streamMsgs returns the messages on subject filter stored in stream now.
func streamMsgs(t *testing.T, js jetstream.JetStream, stream, filter string) []jetstream.Msg {
	t.Helper()
	return testenv.Collect(t, js, stream, filter, 0, 10*time.Second)
}

func setupStreams(t *testing.T) (string, jetstream.JetStream) {
	t.Helper()
	srv := testenv.RunJetStream(t)
	_, js := testenv.Connect(t, srv.ClientURL())
	if _, err := bus.Setup(context.Background(), js, config.Defaults().NATS); err != nil {
		t.Fatal(err)
	}
	return srv.ClientURL(), js
}

func TestPublishClipAndStream(t *testing.T) {
	url, js := setupStreams(t)
	file := writeWAV(t, 1)
	if out, errs, code := sentio(t, nil, "publish", "--nats", url, "--call-id", "c1", file); code != 0 {
		t.Fatalf("publish clip: exit %d\n%s%s", code, out, errs)
	}
	clips := streamMsgs(t, js, "SENTIO_AUDIO", "sentio.audio.*.c1")
	data, _ := os.ReadFile(file)
	if len(clips) != 1 || !bytes.Equal(clips[0].Data(), data) || clips[0].Headers().Get(wire.HeaderCallID) != "c1" {
		t.Fatalf("clip: %d messages", len(clips))
	}
	// Publishing the same file again is a duplicate JetStream drops.
	if out, errs, code := sentio(t, nil, "publish", "--nats", url, "--call-id", "c1", file); code != 0 {
		t.Fatalf("publish the clip again: exit %d\n%s%s", code, out, errs)
	}
	if n := len(streamMsgs(t, js, "SENTIO_AUDIO", "sentio.audio.*.c1")); n != 1 {
		t.Fatalf("republishing the same clip stored %d messages", n)
	}

	if out, errs, code := sentio(t, nil, "publish", "--nats", url, "--mode", "stream", "--chunk-ms", "100",
		"--call-id", "s1", "--role", "customer", "--prompt", "amoxicillin, Saint Mary clinic", file); code != 0 {
		t.Fatalf("publish stream: exit %d\n%s%s", code, out, errs)
	}
	chunks := streamMsgs(t, js, "SENTIO_AUDIO", "sentio.audio.*.s1")
	if len(chunks) != 10 {
		t.Fatalf("a 1 s file in 100 ms chunks gave %d chunks", len(chunks))
	}
	for i, m := range chunks {
		c, err := wire.ParseChunk(m.Headers(), m.Subject())
		if err != nil {
			t.Fatal(err)
		}
		if c.Seq != uint64(i) || c.Offset != int64(i*1600) || c.End != (i == 9) || c.Roles[0] != "customer" || len(m.Data()) != 3200 ||
			c.Prompt != "amoxicillin, Saint Mary clinic" {
			t.Fatalf("chunk %d: %+v, %d bytes", i, c, len(m.Data()))
		}
	}

	// Several files: call ids suffixed, one line of report.
	out, errs, code := sentio(t, nil, "publish", "--nats", url, "--call-id", "batch", file, writeWAV(t, 0.5))
	if code != 0 || len(streamMsgs(t, js, "SENTIO_AUDIO", "sentio.audio.*.batch-2")) != 1 {
		t.Fatalf("publish two files: exit %d\n%s%s", code, out, errs)
	}
	// Errors name the problem.
	if _, errs, code := sentio(t, nil, "publish", "--nats", url, "--mode", "burst", file); code != 2 || !strings.Contains(errs, "clip or stream") {
		t.Fatalf("bad mode: exit %d, %s", code, errs)
	}
	if _, errs, code := sentio(t, nil, "publish", "--nats", url, "--prompt", strings.Repeat("amoxicillin ", 50), file); code != 2 ||
		!strings.Contains(errs, "--prompt: the prompt is 600 bytes, more than the 512 allowed") {
		t.Fatalf("too long a prompt: exit %d, %s", code, errs)
	}
}

func TestTailPrintsResults(t *testing.T) {
	url, js := setupStreams(t)
	for i := 0; i < 2; i++ {
		r := &wire.Result{CallID: "t1", UtteranceID: wire.UtteranceID("t1", 0, int64(i*16000)), Mode: wire.ModeClip, Role: "patient",
			StartMS: int64(i * 1000), EndMS: int64(i*1000 + 800), Transcript: "I feel better", Language: "en", LanguageConfidence: 0.9,
			LanguageSupported: true, LanguageSource: wire.SourceFused, Label: "positive",
			Scores: map[string]float64{"negative": 0.1, "neutral": 0.1, "positive": 0.8}, Rationale: "Feels better.",
			Models: map[string]string{"asr": "x"}, TimingsMS: map[string]float64{"total": 5}}
		b, _ := wire.MarshalResult(r)
		if _, err := js.Publish(context.Background(), "sentio.results.t1", b); err != nil {
			t.Fatal(err)
		}
	}
	out, errs, code := sentio(t, nil, "tail", "--nats", url, "--call-id", "t1", "--count", "2", "--timeout", "20s", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("tail --json: exit %d, %d lines\n%s%s", code, len(lines), out, errs)
	}
	for _, l := range lines {
		var r wire.Result
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.CallID != "t1" {
			t.Fatalf("tail --json printed %q", l)
		}
	}
	out, _, code = sentio(t, nil, "tail", "--nats", url, "--call-id", "t1", "--count", "2", "--timeout", "20s")
	if code != 0 || strings.Count(out, "positive 0.80") != 2 || !strings.Contains(out, `"I feel better"`) {
		t.Fatalf("tail: exit %d\n%s", code, out)
	}
	start := time.Now()
	_, errs, code = sentio(t, nil, "tail", "--nats", url, "--call-id", "t1", "--count", "3", "--timeout", "1s")
	if code != 1 || !strings.Contains(errs, "2 of 3") || time.Since(start) > 15*time.Second {
		t.Fatalf("tail with too few results: exit %d, %s", code, errs)
	}
}
