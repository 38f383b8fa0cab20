//go:build whisper

package pipeline

import (
	"sort"
	"testing"
	"time"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/wire"
)

// Real speech (espeak-ng, corpus sentences of the bundled model in English and French) through
// the real Silero VAD and whisper.cpp with the bundled model, on a real nats-server: sent as a
// clip, as a stream of 10, 20, 40, 200 or 1000 ms chunks, and as 20 ms frames shuffled within the
// reorder window, it gives the same utterances (within one chunk or two Silero windows, as the
// README says) with the same transcripts and languages. The reasoner is a test double: the
// transcripts are what is compared.
func TestStreamAnyChunkLengthTranscribesLikeAClip(t *testing.T) {
	if testing.Short() {
		t.Skip("real whisper.cpp and Silero")
	}
	cfg := realConfig(t)
	eng, err := asr.Open(cfg.ASR, max(1, cfg.Pipeline.ASRWorkers))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	v, err := asr.OpenVAD(cfg.ASR.VADModel, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	parts := testParts(t, eng)
	parts.VAD = SileroVAD{v}
	parts.Models["asr"], parts.Models["vad"] = "whisper.cpp bundled", "silero"
	srv := testenv.RunJetStream(t)
	comp, reg := startComponent(t, srv.ClientURL(), cfg, parts, nil)
	nc, js := connect(t, srv.ClientURL())
	r := &rig{t: t, srv: srv, nc: nc, js: js, cfg: cfg, comp: comp, reg: reg}

	pcm := concat(speak(t, "en", testenv.CorpusSentence(t, "en.txt", 4)), speak(t, "fr", testenv.CorpusSentence(t, "fr.txt", 37)),
		speak(t, "en", testenv.CorpusSentence(t, "en.txt", 20)))
	const want = 3
	r.clip("tx-clip", wav(pcm, 16000), map[string]string{wire.HeaderRole: "customer", wire.HeaderEnd: "true"})
	streams := map[string]int{"tx-10ms": 10, "tx-20ms": 20, "tx-20ms-shuffled": 20, "tx-40ms": 40, "tx-200ms": 200, "tx-1000ms": 1000}
	ids := []string{"tx-10ms", "tx-20ms", "tx-20ms-shuffled", "tx-40ms", "tx-200ms", "tx-1000ms"}
	for _, id := range ids {
		cs := chunks(id, pcm, streams[id])
		if id == "tx-20ms-shuffled" {
			// Chunk 0 stays first: a call whose first chunk seen is a later one is held as one
			// taken over mid-stream (TakeOverWait), which is not this test's subject.
			cs = append(cs[:1], shuffleWithin(cs[1:], ReorderWindow, 20)...)
		}
		r.sendChunks(cs)
	}

	byStart := func(callID string) []wire.Result {
		res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, wire.Subject("sentio.results", callID), want, 2*time.Minute))
		sort.Slice(res, func(i, j int) bool { return res[i].StartMS < res[j].StartMS })
		for _, x := range res {
			t.Logf("%s %d–%d ms %s %q", callID, x.StartMS, x.EndMS, x.Language, x.Transcript)
		}
		return res
	}
	clip := byStart("tx-clip")
	if len(clip) != want {
		t.Fatalf("clip: %d utterances; want one per sentence (%d)", len(clip), want)
	}
	for _, id := range ids {
		tol := int64(max(streams[id], 2*512*1000/16000)) // one chunk or two Silero windows (64 ms)
		got := byStart(id)
		if len(got) != len(clip) {
			t.Errorf("%s: %d utterances; clip mode gives %d", id, len(got), len(clip))
			continue
		}
		for i, x := range got {
			c := clip[i]
			if abs64(x.StartMS-c.StartMS) > tol || abs64(x.EndMS-c.EndMS) > tol {
				t.Errorf("%s: utterance %d spans %d–%d ms; clip mode %d–%d ms", id, i, x.StartMS, x.EndMS, c.StartMS, c.EndMS)
			}
			if x.Transcript != c.Transcript || x.Language != c.Language {
				t.Errorf("%s: utterance %d heard as %q (%s); clip mode %q (%s)", id, i, x.Transcript, x.Language, c.Transcript, c.Language)
			}
		}
		if s := summaryOf(t, r, id); s.Utterances != want {
			t.Errorf("%s: summary counts %d utterances; want %d", id, s.Utterances, want)
		}
		// None of these calls pauses: a cut recorded for a timing reason (idle_flush, a bound)
		// explains utterances that differ from clip mode's.
		if rec, _, err := bus.New(r.js, r.cfg.NATS, logger(t)).LookupCall(t.Context(), id); err != nil {
			t.Fatal(err)
		} else if len(rec.Flushes) != 0 {
			t.Logf("%s: cuts recorded for timing or load reasons after chunks %v", id, rec.Flushes)
		}
	}
	r.settled(time.Minute)
	if dlq, desc := r.dlqEntries(); len(dlq) != 0 {
		t.Fatalf("DLQ holds %d entries for clean input:%s", len(dlq), desc)
	}
}
