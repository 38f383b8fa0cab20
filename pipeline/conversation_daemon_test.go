//go:build whisper

package pipeline

import (
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sentio-health/sentio/internal/testenv"
	"github.com/sentio-health/sentio/segment"
	"github.com/sentio-health/sentio/wire"
)

// daemonRig starts the real daemon (`sentio run`, the bundled models, the Silero VAD, extra
// arguments of sentio run) on an external NATS server and returns the rig that feeds it.
func daemonRig(t *testing.T, extra ...string) *rig {
	t.Helper()
	logPath := daemonLog(t)
	return newExternalRig(t, 2*time.Minute, func(url string) { startDaemon(t, url, logPath, extra...) })
}

// voiced trims pcm to its speech: from the first to the last sample above -40 dBFS.
func voiced(pcm []float32) []float32 {
	first, last := -1, -1
	for i, x := range pcm {
		if math.Abs(float64(x)) > 0.01 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil
	}
	return pcm[first : last+1]
}

// place copies speech into track at second at.
func place(track, speech []float32, at float64) {
	copy(track[int(at*segment.SampleRate):], speech)
}

// stereoChunks cuts two 16 kHz tracks into interleaved two-channel chunks of ms milliseconds.
func stereoChunks(callID string, left, right []float32, roles []string, ms int, prompt string) []chunkMsg {
	n := segment.SampleRate * ms / 1000
	var out []chunkMsg
	for i := 0; i*n < len(left); i++ {
		end := min((i+1)*n, len(left))
		inter := make([]float32, 0, 2*(end-i*n))
		for k := i * n; k < end; k++ {
			inter = append(inter, left[k], right[k])
		}
		c := wire.Chunk{CallID: callID, Seq: uint64(i), Codec: wire.CodecS16LE, Rate: 16000, Channels: 2,
			Roles: roles, End: end == len(left), Offset: int64(i * n), Prompt: prompt}
		out = append(out, chunkMsg{c, s16(inter)})
	}
	return out
}

// spanDBFS is the RMS level in dBFS of pcm between two times in milliseconds, as the pipeline
// measures an utterance (16-bit rounding included).
func spanDBFS(pcm []float32, startMS, endMS int64) float64 {
	a, b := int(startMS*segment.SampleRate/1000), min(len(pcm), int(endMS*segment.SampleRate/1000))
	var sum float64
	for _, x := range pcm[a:b] {
		q := float64(int16(max(-1, min(1, x))*32767)) / 32768
		sum += q * q
	}
	return 20 * math.Log10(math.Sqrt(sum/float64(b-a)))
}

// TestDaemonConversationMetrics sends the real daemon a two-channel call of espeak-ng speech in
// which the customer (channel 1, 12 dB quieter) starts speaking one second before the agent
// (channel 0) has finished, and the agent answers after a pause. Every result carries its words
// and loudness, and the summary's metrics are checked against the audio: talk time per role and
// overall and the overlap (one second) between the speech's length and that plus the
// segmenter's padding (150 ms a side, rounded out to the 200 ms chunks: at most 350 ms a side),
// one interruption, by the customer, loudness as measured on the sent audio (±0.1 dB), and the
// words per minute and sentiment trend as the results give them.
func TestDaemonConversationMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end with the real daemon and models")
	}
	r := daemonRig(t)
	agentA := voiced(speak(t, "en-us", testenv.CorpusSentence(t, "en.txt", 3)))
	custB := voiced(speak(t, "en-us", testenv.CorpusSentence(t, "en.txt", 5)))
	agentC := voiced(speak(t, "en-us", testenv.CorpusSentence(t, "en.txt", 0)))
	for i := range custB {
		custB[i] *= 0.25 // -12.04 dB
	}
	sec := func(pcm []float32) float64 { return float64(len(pcm)) / segment.SampleRate }
	aStart := 0.5
	aEnd := aStart + sec(agentA)
	bStart := aEnd - 1.0
	bEnd := bStart + sec(custB)
	cStart := bEnd + 1.5
	cEnd := cStart + sec(agentC)
	total := cEnd + 1.5
	left := make([]float32, int(total*segment.SampleRate))
	right := make([]float32, len(left))
	place(left, agentA, aStart)
	place(right, custB, bStart)
	place(left, agentC, cStart)
	t.Logf("agent %.2f-%.2f s and %.2f-%.2f s, customer %.2f-%.2f s", aStart, aEnd, cStart, cEnd, bStart, bEnd)

	const call = "metrics-two-channel"
	r.sendChunks(stereoChunks(call, left, right, []string{"agent", "customer"}, 200, ""))
	sum := summaryOfWithin(t, r, call, 10*time.Minute)
	res := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results."+call, sum.Utterances, 10*time.Second))
	if len(res) != sum.Utterances || len(res) < 3 {
		t.Fatalf("%d results, summary counts %d; want at least 3 (one per sentence)", len(res), sum.Utterances)
	}
	sort.Slice(res, func(i, j int) bool { return res[i].StartMS < res[j].StartMS })

	// The words sit on the speech: the first starts where its sentence starts and the last ends
	// where it ends, within 300 ms (the bundled model's DTW timings are coarse: see asr.Word).
	speech := [][2]float64{{aStart, aEnd}, {bStart, bEnd}, {cStart, cEnd}}
	for i, x := range res[:min(3, len(res))] {
		if len(x.Words) == 0 {
			t.Errorf("%s: no words", x.UtteranceID)
			continue
		}
		first, last := x.Words[0], x.Words[len(x.Words)-1]
		if math.Abs(float64(first.StartMS)-1000*speech[i][0]) > 300 || math.Abs(float64(last.EndMS)-1000*speech[i][1]) > 300 {
			t.Errorf("%s: words from %d to %d ms; the sentence is spoken from %.0f to %.0f ms", x.UtteranceID, first.StartMS, last.EndMS, 1000*speech[i][0], 1000*speech[i][1])
		}
	}
	tracks := map[string][]float32{"agent": left, "customer": right}
	power, dur := map[string]float64{}, map[string]float64{}
	for _, x := range res {
		t.Logf("%s %d-%d ms %q loudness %v, %d words", x.Role, x.StartMS, x.EndMS, x.Transcript, deref(x.LoudnessDBFS), len(x.Words))
		checkWords(t, x)
		if x.LoudnessDBFS == nil {
			t.Fatalf("result %s has no loudness_dbfs", x.UtteranceID)
		}
		want := spanDBFS(tracks[x.Role], x.StartMS, x.EndMS)
		if math.Abs(*x.LoudnessDBFS-want) > 0.1 {
			t.Errorf("%s %d-%d ms: loudness %.2f dBFS, the sent audio has %.2f", x.Role, x.StartMS, x.EndMS, *x.LoudnessDBFS, want)
		}
		d := float64(x.EndMS - x.StartMS)
		power[x.Role] += d * math.Pow(10, want/10)
		dur[x.Role] += d
	}

	m := sum.Metrics
	if m == nil {
		t.Fatal("the summary has no metrics")
	}
	t.Logf("metrics: duration %d, talk %d, non-talk %d, overlap %d, interruptions %d", m.DurationMS, m.TalkMS, m.NonTalkMS, m.OverlapMS, m.Interruptions)
	// Each utterance is the speech plus the segmenter's padding (150 ms) on each side, its cuts
	// rounded out to the 200 ms chunks: between the audio's figure and 350 ms more a side.
	const edge = 150.0 + 200.0
	within := func(what string, got int64, speech float64, edges int) {
		t.Helper()
		if float64(got) < speech || float64(got) > speech+float64(edges)*edge {
			t.Errorf("%s = %d ms; the audio gives %.0f ms of speech (up to %.0f ms more with padding)", what, got, speech, float64(edges)*edge)
		}
	}
	agent, cust := m.Roles["agent"], m.Roles["customer"]
	within("agent talk", agent.TalkMS, 1000*(sec(agentA)+sec(agentC)), 4)
	within("customer talk", cust.TalkMS, 1000*sec(custB), 2)
	within("overlap", m.OverlapMS, 1000, 2)
	if m.DurationMS != res[len(res)-1].EndMS || m.NonTalkMS != m.DurationMS-m.TalkMS {
		t.Errorf("duration %d (last end %d), non-talk %d, talk %d: non-talk must be duration - talk", m.DurationMS, res[len(res)-1].EndMS, m.NonTalkMS, m.TalkMS)
	}
	// Someone talks from the agent's first sentence to the end of the customer's, and in the
	// agent's answer.
	within("talk", m.TalkMS, 1000*((bEnd-aStart)+(cEnd-cStart)), 4)
	if m.Interruptions != 1 || cust.Interruptions != 1 || agent.Interruptions != 0 || agent.Interrupted != 1 || cust.Interrupted != 0 {
		t.Errorf("interruptions: call %d, customer %d (interrupted %d), agent %d (interrupted %d); want the customer's one, of the agent",
			m.Interruptions, cust.Interruptions, cust.Interrupted, agent.Interruptions, agent.Interrupted)
	}
	for role, rm := range m.Roles {
		want := 10 * math.Log10(power[role]/dur[role])
		if rm.LoudnessDBFS == nil || math.Abs(*rm.LoudnessDBFS-want) > 0.1 {
			t.Errorf("%s loudness %v dBFS; the sent audio over its utterances has %.2f", role, deref(rm.LoudnessDBFS), want)
		}
		words := 0
		for _, x := range res {
			if x.Role == role {
				words += len(x.Words)
			}
		}
		wpm := math.Round(float64(words)*60000/float64(rm.TalkMS)*10) / 10
		if rm.Words != words || rm.WordsPerMinute != wpm {
			t.Errorf("%s: %d words, %.1f per minute; the results give %d, %.1f", role, rm.Words, rm.WordsPerMinute, words, wpm)
		}
		checkTrend(t, role, rm.Trend, res, m.DurationMS)
	}
	if d := deref(agent.LoudnessDBFS) - deref(cust.LoudnessDBFS); d < 8 || d > 16 {
		t.Errorf("agent %.2f dBFS, customer %.2f: the customer was sent 12 dB quieter", deref(agent.LoudnessDBFS), deref(cust.LoudnessDBFS))
	}
	// The reference words: the transcripts are the corpus sentences (the bundled model knows them).
	if agent.Words != len(strings.Fields(testenv.CorpusSentence(t, "en.txt", 3)))+len(strings.Fields(testenv.CorpusSentence(t, "en.txt", 0))) ||
		cust.Words != len(strings.Fields(testenv.CorpusSentence(t, "en.txt", 5))) {
		t.Errorf("agent %d words, customer %d: not the sentences' counts", agent.Words, cust.Words)
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// checkWords checks a result's words: their texts joined are the transcript without spaces, and
// their times run forward inside the utterance.
func checkWords(t *testing.T, x wire.Result) {
	t.Helper()
	var b strings.Builder
	for i, w := range x.Words {
		b.WriteString(w.Text)
		if w.StartMS < x.StartMS || w.EndMS > x.EndMS || w.EndMS < w.StartMS || (i > 0 && w.StartMS < x.Words[i-1].StartMS) {
			t.Errorf("%s: word %d %q at %d-%d ms, utterance %d-%d ms", x.UtteranceID, i, w.Text, w.StartMS, w.EndMS, x.StartMS, x.EndMS)
		}
	}
	if want := strings.ReplaceAll(x.Transcript, " ", ""); b.String() != want {
		t.Errorf("%s: words joined %q, transcript without spaces %q", x.UtteranceID, b.String(), want)
	}
}

// checkTrend checks a role's trend against its labelled results: each counted in the quarter of
// the call holding its midpoint, with the quarter's mean scores.
func checkTrend(t *testing.T, role string, trend []wire.TrendEntry, res []wire.Result, durationMS int64) {
	t.Helper()
	if len(trend) != 4 {
		t.Fatalf("%s: %d trend entries; want 4 quarters", role, len(trend))
	}
	for q, e := range trend {
		n := 0
		mean := map[string]float64{}
		for _, x := range res {
			mid := float64(x.StartMS+x.EndMS) / 2
			if x.Role != role || x.Label == "" || mid < float64(durationMS)*float64(q)/4 || (mid >= float64(durationMS)*float64(q+1)/4 && q < 3) {
				continue
			}
			n++
			for l, v := range x.Scores {
				mean[l] += v
			}
		}
		if e.Quarter != q+1 || e.Utterances != n {
			t.Errorf("%s quarter %d: %d utterances; the results put %d there", role, e.Quarter, e.Utterances, n)
			continue
		}
		for l, v := range mean {
			if math.Abs(e.MeanScores[l]-v/float64(n)) > 1e-3 {
				t.Errorf("%s quarter %d: mean %s %.4f; the results give %.4f", role, q+1, l, e.MeanScores[l], v/float64(n))
			}
		}
	}
}

// summaryOfWithin waits up to timeout for the call's summary.
func summaryOfWithin(t *testing.T, r *rig, callID string, timeout time.Duration) wire.Summary {
	t.Helper()
	if ms := collect(t, r.js, r.cfg.NATS.ResultStream, wire.SummarySubject("sentio.results", callID), 1, timeout); len(ms) != 1 {
		t.Fatalf("no summary for %s within %s", callID, timeout)
	}
	return summaryOf(t, r, callID)
}

// TestDaemonPrompt sends the real daemon the same espeak-ng clip without and with a
// Sentio-Prompt: the prompt is accepted and reaches whisper (the bundled model, trained without
// prompts, transcribes differently with one: see models/asr/MODEL_CARD.md), and a prompt over
// 512 bytes, on a clip or on a stream's chunk 0, is rejected to the DLQ as bad_header naming the
// header.
func TestDaemonPrompt(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end with the real daemon and models")
	}
	r := daemonRig(t)
	sentence := testenv.CorpusSentence(t, "en.txt", 5)
	clip := wav(concat(speak(t, "en-us", sentence)), 16000)
	r.clip("prompt-none", clip, map[string]string{wire.HeaderEnd: "true"})
	r.clip("prompt-given", clip, map[string]string{wire.HeaderEnd: "true", wire.HeaderPrompt: "amoxicillin, Saint Mary clinic"})
	long := strings.Repeat("amoxicillin, ", 50) // 650 bytes
	r.clip("prompt-too-long", clip, map[string]string{wire.HeaderPrompt: long})
	cs := chunks("prompt-too-long-stream", concat(speak(t, "en-us", sentence)), 200)
	cs[0].c.Prompt = long
	r.sendChunks(cs[:1])

	plain := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.prompt-none", 1, 10*time.Minute))
	prompted := results(t, collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.prompt-given", 1, 10*time.Minute))
	if len(plain) != 1 || len(prompted) != 1 {
		t.Fatalf("%d and %d results; want one for each clip", len(plain), len(prompted))
	}
	t.Logf("without a prompt %q, with %q", plain[0].Transcript, prompted[0].Transcript)
	if plain[0].Transcript != sentence {
		t.Errorf("without a prompt: %q, want %q", plain[0].Transcript, sentence)
	}
	if prompted[0].Transcript == plain[0].Transcript {
		t.Errorf("the prompt changed nothing (%q): did it reach whisper?", prompted[0].Transcript)
	}
	for _, call := range []string{"prompt-too-long", "prompt-too-long-stream"} {
		dlq := collect(t, r.js, r.cfg.NATS.DLQStream, "sentio.dlq."+call, 1, time.Minute)
		if len(dlq) != 1 {
			t.Fatalf("%s: %d DLQ entries; want 1", call, len(dlq))
		}
		h := dlq[0].Headers()
		reason := h.Get(wire.HeaderReason)
		if h.Get(wire.HeaderReasonCode) != wire.ReasonBadHeader || !strings.Contains(reason, wire.HeaderPrompt) || !strings.Contains(reason, "512") ||
			strings.Contains(reason, "amoxicillin") {
			t.Errorf("%s: DLQ %s %q; want bad_header naming %s and the 512-byte bound, without the prompt itself",
				call, h.Get(wire.HeaderReasonCode), reason, wire.HeaderPrompt)
		}
	}
	if res := collect(t, r.js, r.cfg.NATS.ResultStream, "sentio.results.prompt-too-long", 0, 2*time.Second); len(res) != 0 {
		t.Errorf("the rejected clip has %d results", len(res))
	}
}
