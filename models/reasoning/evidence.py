"""Evidence spans and the faithfulness scores, exactly as model.json's "evidence" describes them
(the Go runtime computes the same)."""

from __future__ import annotations

import numpy as np

TOP_K = 10

RULE = {
    "margin": "m_i = c_i[y] - mean_{k != y} c_i[k], in float64 from the float32 contributions c (y = predicted label)",
    "selection": f"features with m_i > 0, sorted by (m_i desc, id asc), the first top_k",
    "top_k": TOP_K,
    "spans": "every span of every selected feature; sorted by (start, end); merged while the next start <= the current end (overlapping or touching)",
    "weight": "a merged span's weight = sum of m_i over the distinct selected features with a span inside it, added in selection order",
    "order": "evidence sorted by start",
    "comprehensiveness": "p_y(text) - p_y(text_without), text_without = the text with each merged evidence span replaced by one U+0020",
    "sufficiency": "p_y(evidence_only), evidence_only = the evidence span texts in order joined with one U+0020; (ERASER's sufficiency difference is p_y(text) - this)",
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
