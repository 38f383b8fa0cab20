"""Evidence spans and the faithfulness scores, exactly as model.json's "evidence" describes them
(the Go runtime computes the same)."""

from __future__ import annotations

import bisect
import unicodedata

import numpy as np

TOP_K = 10

RULE = {
    "margin": "m_i = c_i[y] - mean_{k != y} c_i[k], in float64 from the float32 contributions c (y = predicted label)",
    "selection": f"features with m_i > 0, sorted by (m_i desc, id asc), the first top_k",
    "top_k": TOP_K,
    "spans": "every span of every selected feature; sorted by (start, end); merged while the next start <= the current end (overlapping or touching)",
    "weight": "a merged span's weight = sum of m_i over the distinct selected features with a span inside it, added in selection order",
    "order": "evidence sorted by start",
    "words": "each merged span widened to the whole words it overlaps, never narrowed (a word: a code point in the features' "
             "cjk_ranges alone, or a maximal run of other code points of category L*, M* or N*, an apostrophe U+0027 or "
             "U+2019 between two of them included; a span overlapping no word stays); widened spans that overlap or touch "
             "merged again, their weights added in order (the weights keep their sum)",
    "comprehensiveness": "p_y(text) - p_y(text_without), text_without = the text with each word evidence span replaced by one U+0020",
    "sufficiency": "p_y(evidence_only), evidence_only = the word evidence span texts in order joined with one U+0020; (ERASER's sufficiency difference is p_y(text) - this)",
}


def margins(contrib, y):
    c = np.asarray(contrib, dtype=np.float64)
    others = [k for k in range(c.shape[1]) if k != y]
    return c[:, y] - c[:, others].mean(axis=1)


def select(feats, contrib, y, top_k=TOP_K, rng=None):
    """select returns the merged evidence spans [(start, end, weight)]. With rng, it picks as many
    features as the rule would, but at random among all features (the random control)."""
    m = margins(contrib, y)
    order = sorted((i for i in range(len(feats)) if m[i] > 0), key=lambda i: (-m[i], feats[i][0]))[:top_k]
    if rng is not None:
        order = [int(i) for i in rng.choice(len(feats), size=len(order), replace=False)] if order else []
    return merge(feats, order, m)


def merge(feats, order, m):
    spans = []
    for i in order:
        for s, e in feats[i][2]:
            spans.append((s, e, i))
    spans.sort(key=lambda t: (t[0], t[1]))
    merged = []
    for s, e, i in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
            merged[-1][2].add(i)
        else:
            merged.append([s, e, {i}])
    # the weight sums in selection order (as the Go runtime) so the float64 sum is reproducible
    return [(s, e, float(sum(float(m[i]) for i in order if i in fs))) for s, e, fs in merged]


def words(text, cjk_ranges):
    """words returns the [start, end) code point ranges of the words of text (RULE["words"])."""
    def cjk(c):
        return any(lo <= ord(c) <= hi for lo, hi in cjk_ranges)

    def run(c):
        return unicodedata.category(c)[0] in "LMN" and not cjk(c)

    out, i, n = [], 0, len(text)
    while i < n:
        if cjk(text[i]):
            out.append((i, i + 1))
            i += 1
        elif run(text[i]):
            j = i + 1
            while j < n and (run(text[j]) or (text[j] in "'\u2019" and j + 1 < n and run(text[j + 1]))):
                j += 1
            out.append((i, j))
            i = j
        else:
            i += 1
    return out


def snap(text, spans, cjk_ranges):
    """snap widens merged spans [(start, end, weight)] to whole words (RULE["words"])."""
    ws = words(text, cjk_ranges)
    ends = [e for _, e in ws]
    starts = [s for s, _ in ws]
    out = []
    for s, e, w in spans:
        first = bisect.bisect_right(ends, s)  # the first word ending after s
        if first < len(ws) and ws[first][0] < e:
            last = bisect.bisect_left(starts, e) - 1  # the last word starting before e
            s, e = min(s, ws[first][0]), max(e, ws[last][1])
        if out and s <= out[-1][1]:
            out[-1] = [out[-1][0], max(out[-1][1], e), out[-1][2] + w]
        else:
            out.append([s, e, w])
    return [(s, e, float(w)) for s, e, w in out]


def spans_for(text, feats, contrib, y, cjk_ranges, top_k=TOP_K, rng=None):
    """spans_for returns the published evidence of a text: the merged spans of select, snapped
    to whole words."""
    return snap(text, select(feats, contrib, y, top_k=top_k, rng=rng), cjk_ranges)


def without(text, spans):
    out, pos = [], 0
    for s, e, _ in spans:
        out.append(text[pos:s])
        out.append(" ")
        pos = e
    out.append(text[pos:])
    return "".join(out)


def only(text, spans):
    return " ".join(text[s:e] for s, e, _ in spans)


def faithfulness(run, texts, feats, contribs, probs, preds, spec, seed):
    """faithfulness returns one language's faithfulness figures (metrics.faithfulness.<lang>) for
    texts, their features, the graph's contributions and probabilities, and the predicted labels,
    run (ngram.Runner) scoring the texts without and with only their evidence; the random control
    draws as many features as the rule selects, at random (numpy default_rng(seed))."""
    import features

    cjk = spec["cjk_ranges"]
    ev = [spans_for(t, fs, c, int(y), cjk) for t, fs, c, y in zip(texts, feats, contribs, preds)]
    pw, _ = run.run([features.extract(without(t, e), spec) for t, e in zip(texts, ev)])
    ps, _ = run.run([features.extract(only(t, e), spec) for t, e in zip(texts, ev)])
    idx = np.arange(len(texts))
    py = probs[idx, preds]
    comp = py - pw[idx, preds]
    suff = ps[idx, preds]
    # control: as many features as the rule selects, but chosen at random
    rng = np.random.default_rng(seed)
    evr = [spans_for(t, fs, c, int(y), cjk, rng=rng) for t, fs, c, y in zip(texts, feats, contribs, preds)]
    pr, _ = run.run([features.extract(without(t, e), spec) for t, e in zip(texts, evr)])
    prs, _ = run.run([features.extract(only(t, e), spec) for t, e in zip(texts, evr)])

    def share(spans_of):
        return float(np.mean([sum(e - s for s, e, _ in sp) / max(1, len(t)) for t, sp in zip(texts, spans_of)]))

    return {"comprehensiveness": round(float(comp.mean()), 4),
            "sufficiency": round(float(suff.mean()), 4),
            "sufficiency_eraser": round(float((py - suff).mean()), 4),
            "p_label_full": round(float(py.mean()), 4),
            "evidence_share_of_text": round(share(ev), 4),
            "random_comprehensiveness": round(float((py - pr[idx, preds]).mean()), 4),
            "random_sufficiency": round(float(prs[idx, preds].mean()), 4),
            "random_share_of_text": round(share(evr), 4)}
