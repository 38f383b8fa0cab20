package pipeline

import (
	"math"
	"sort"
	"strings"

	"github.com/sentio-health/sentio/wire"
)

// span is a stretch of a call in milliseconds, end exclusive.
type span struct{ start, end int64 }

// union merges spans into disjoint ones in order.
func union(spans []span) []span {
	s := append([]span(nil), spans...)
	sort.Slice(s, func(i, j int) bool { return s[i].start < s[j].start })
	var out []span
	for _, x := range s {
		if x.end <= x.start {
			continue
		}
		if n := len(out); n > 0 && x.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, x.end)
			continue
		}
		out = append(out, x)
	}
	return out
}

func total(spans []span) int64 {
	var t int64
	for _, s := range spans {
		t += s.end - s.start
	}
	return t
}

// overlap is the time covered by at least two of the span sets (each set disjoint in itself).
func overlap(sets [][]span) int64 {
	type event struct {
		at int64
		d  int
	}
	var ev []event
	for _, set := range sets {
		for _, s := range set {
			ev = append(ev, event{s.start, 1}, event{s.end, -1})
		}
	}
	sort.Slice(ev, func(i, j int) bool {
		if ev[i].at != ev[j].at {
			return ev[i].at < ev[j].at
		}
		return ev[i].d < ev[j].d // an end before a start at the same instant: touching is not overlap
	})
	var t, last int64
	n := 0
	for _, e := range ev {
		if n >= 2 {
			t += e.at - last
		}
		n += e.d
		last = e.at
	}
	return t
}

// conversation computes a call's conversation metrics from its results (deduplicated, in time
// order) over [0, durationMS].
func conversation(results []wire.Result, durationMS int64) *wire.ConversationMetrics {
	m := &wire.ConversationMetrics{DurationMS: durationMS, Roles: map[string]wire.RoleMetrics{}}
	byRole := map[string][]wire.Result{}
	var roles []string
	var all []span
	for _, r := range results {
		if _, ok := byRole[r.Role]; !ok {
			roles = append(roles, r.Role)
		}
		byRole[r.Role] = append(byRole[r.Role], r)
		all = append(all, span{r.StartMS, r.EndMS})
	}
	m.TalkMS = total(union(all))
	m.NonTalkMS = max(0, durationMS-m.TalkMS)
	interruptions, interrupted := interruptionsOf(results)
	var sets [][]span
	for _, role := range roles {
		rs := byRole[role]
		var spans []span
		rm := wire.RoleMetrics{Utterances: len(rs), Trend: trend(rs, durationMS)}
		var power, dur float64
		for _, r := range rs {
			spans = append(spans, span{r.StartMS, r.EndMS})
			if r.Words != nil {
				rm.Words += len(r.Words)
			} else {
				rm.Words += len(strings.Fields(r.Transcript))
			}
			if r.LoudnessDBFS != nil {
				d := float64(max(1, r.EndMS-r.StartMS))
				power += d * math.Pow(10, *r.LoudnessDBFS/10)
				dur += d
			}
			rm.Interruptions += interruptions[r.UtteranceID]
			rm.Interrupted += interrupted[r.UtteranceID]
		}
		u := union(spans)
		sets = append(sets, u)
		rm.TalkMS = total(u)
		rm.NonTalkMS = max(0, durationMS-rm.TalkMS)
		if rm.TalkMS > 0 {
			rm.WordsPerMinute = math.Round(float64(rm.Words)*60000/float64(rm.TalkMS)*10) / 10
		}
		if dur > 0 {
			l := math.Round(1000*math.Log10(power/dur)) / 100
			rm.LoudnessDBFS = &l
		}
		m.Interruptions += rm.Interruptions
		m.Roles[role] = rm
	}
	m.OverlapMS = overlap(sets)
	return m
}

// interruptionsOf finds, for each utterance, whether it starts while an utterance of another role
// runs (strictly inside it: 1 or 0) and how many utterances of other roles start inside it.
func interruptionsOf(results []wire.Result) (interrupts, interrupted map[string]int) {
	interrupts, interrupted = map[string]int{}, map[string]int{}
	for _, u := range results {
		for _, v := range results {
			if u.Role == v.Role || u.StartMS <= v.StartMS || u.StartMS >= v.EndMS {
				continue
			}
			interrupts[u.UtteranceID] = 1
			interrupted[v.UtteranceID]++
		}
	}
	return interrupts, interrupted
}

// trend is one role's sentiment per quarter of [0, durationMS]: each labelled utterance counts
// in the quarter holding its midpoint.
func trend(rs []wire.Result, durationMS int64) []wire.TrendEntry {
	out := make([]wire.TrendEntry, 4)
	var scored [4]int // utterances with scores per quarter
	for q := range out {
		out[q] = wire.TrendEntry{Quarter: q + 1, StartMS: durationMS * int64(q) / 4, EndMS: durationMS * int64(q+1) / 4, Counts: map[string]int{}}
	}
	for _, r := range rs {
		if r.Label == "" {
			continue
		}
		q := 0
		if durationMS > 0 {
			q = int(min(3, (r.StartMS+r.EndMS)*2/durationMS)) // midpoint*4/duration
		}
		e := &out[q]
		e.Utterances++
		e.Counts[r.Label]++
		if len(r.Scores) == 0 {
			continue // a label without probabilities (scores_available false) counts, but adds no scores
		}
		scored[q]++
		if e.MeanScores == nil {
			e.MeanScores = map[string]float64{}
		}
		for _, l := range wire.Labels {
			e.MeanScores[l] += r.Scores[l]
		}
	}
	for q := range out {
		for l := range out[q].MeanScores {
			out[q].MeanScores[l] = math.Round(out[q].MeanScores[l]/float64(scored[q])*10000) / 10000
		}
	}
	return out
}
