"""Rationale by retrieval: among the k most similar training utterances of the same language that
carry the predicted label, a similarity-weighted vote for their rationales ("knn-vote"; k = 1 is
plain nearest-neighbour retrieval) or the minimum-Bayes-risk choice ("knn-mbr": the neighbour
rationale with the largest similarity-weighted ROUGE-L against all k).

The index file (gzip JSON) holds, per language, the distinct rationale strings (sorted by frequency,
most frequent first), the fallback rationale per label (the most frequent one), and for every
training utterance its id, label, rationale index and its word n-gram vector (sublinear tf * idf,
L2-normalised, weights rounded to 6 decimals). The Go package reasoning/rationale implements the
same scoring; Scoring (also in the index's "scoring" text):

  q = word features of the input (ids in [word_lo, word_hi)), x_id = (1 + ln(count)) * idf(id)
      (idf from the index; idf_default for ids not in it), L2-normalised (float64).
  sim(e) = sum over q's ids in ascending order of x_id * w_e(id).
  candidates: entries of the language whose label is the predicted label with sim > min_similarity;
  the k best by (sim desc, entry index asc). vote[r] = sum of sim over those with rationale r, added
  in that order. Chosen r = argmax vote, ties to the lower rationale index. neighbour = the best
  candidate with rationale r. No candidate: the fallback rationale of the label (source "fallback").
  method "knn-mbr" (minimum Bayes risk) replaces the vote: every distinct rationale c among the k
  candidates scores sum over the candidates j, in order, of sim_j * rougeL(c, r_j), where rougeL is
  the LCS F1 over the index's pre-tokenised rationale tokens ("tokens": per language, per
  rationale; F1 = 2PR/(P+R), P = lcs/len(c), R = lcs/len(r_j), 0 when lcs = 0); argmax, ties to the
  lower rationale index. (The vote is the special case rougeL = exact match.)
"""

from __future__ import annotations

import collections
import gzip
import json
import math

FORMAT = "sentio-rationale-knn/1"


def word_vector(feats, idf_map, idf_default, lo, hi, rnd=None):
    xs = []
    for fid, v, _ in feats:
        if lo <= fid < hi:
            xs.append((fid, (1.0 + math.log(v)) * idf_map.get(fid, idf_default)))
    nrm = math.sqrt(sum(x * x for _, x in xs))
    if nrm == 0:
        return []
    out = [(fid, x / nrm) for fid, x in xs]
    if rnd is not None:
        out = [(fid, round(x, rnd)) for fid, x in out]
    return out


def build(train, feats_by_lang, idf, spec, k, labels):
    """build returns the index dict. train[lang] = records, feats_by_lang[lang] = their features."""
    lo, hi = spec["word_offset"], spec["char_offset"]
    n_docs = sum(len(v) for v in train.values())
    idf_default = math.log((1.0 + n_docs) / 1.0) + 1.0
    used = set()
    for lang in train:
        for fs in feats_by_lang[lang]:
            for fid, _, _ in fs:
                if lo <= fid < hi:
                    used.add(fid)
    ids = sorted(used)
    idf_map = {i: float(idf[i]) for i in ids}
    langs = {}
    for lang, recs in train.items():
        cnt = collections.Counter(r["rationale"] for r in recs)
        rats = sorted(cnt, key=lambda s: (-cnt[s], s))
        ridx = {s: i for i, s in enumerate(rats)}
        fallback = {}
        for lab in labels:
            c = collections.Counter(r["rationale"] for r in recs if r["label"] == lab)
            fallback[lab] = ridx[sorted(c, key=lambda s: (-c[s], s))[0]]
        ent_ids, ent_lab, ent_r, ent_f, ent_w = [], [], [], [], []
        for r, fs in zip(recs, feats_by_lang[lang]):
            vec = word_vector(fs, idf_map, idf_default, lo, hi, rnd=6)
            ent_ids.append(r["id"])
            ent_lab.append(labels.index(r["label"]))
            ent_r.append(ridx[r["rationale"]])
            ent_f.append([fid for fid, _ in vec])
            ent_w.append([w for _, w in vec])
        langs[lang] = {"rationales": rats, "tokens": [_tokens(r, lang) for r in rats], "fallback": fallback,
                       "entries": {"ids": ent_ids, "labels": ent_lab, "rationale": ent_r,
                                   "features": ent_f, "weights": ent_w}}
    return {"format": FORMAT, "method": "knn-vote", "k": k, "min_similarity": 0.0,
            "labels": labels, "word_lo": lo, "word_hi": hi,
            "idf_ids": ids, "idf_values": [idf_map[i] for i in ids], "idf_default": idf_default,
            "scoring": __doc__.split("Scoring (also in the index's \"scoring\" text):")[1].strip(),
            "languages": langs}


def save(index, path):
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(json.dumps(index, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


class Retriever:
    def __init__(self, index):
        self.ix = index
        self.idf = dict(zip(index["idf_ids"], index["idf_values"]))
        self.inv = {}
        for lang, L in index["languages"].items():
            inv = collections.defaultdict(list)
            E = L["entries"]
            for e, (fs, ws) in enumerate(zip(E["features"], E["weights"])):
                for fid, w in zip(fs, ws):
                    inv[fid].append((e, w))
            self.inv[lang] = inv

    def __call__(self, lang, label, feats, k=None, method=None):
        ix = self.ix
        k = ix["k"] if k is None else k
        method = ix["method"] if method is None else method
        L = ix["languages"][lang]
        E = L["entries"]
        lab = ix["labels"].index(label)
        q = word_vector(feats, self.idf, ix["idf_default"], ix["word_lo"], ix["word_hi"])
        sims = {}
        inv = self.inv[lang]
        for fid, x in q:  # ascending id order
            for e, w in inv.get(fid, ()):
                if E["labels"][e] == lab:
                    sims[e] = sims.get(e, 0.0) + x * w
        cands = sorted(((s, e) for e, s in sims.items() if s > ix["min_similarity"]), key=lambda t: (-t[0], t[1]))[:k]
        if not cands:
            r = L["fallback"][label]
            return {"text": L["rationales"][r], "source": "fallback"}
        vote = {}
        best = {}
        for s, e in cands:
            r = E["rationale"][e]
            vote[r] = vote.get(r, 0.0) + s
            if r not in best:
                best[r] = (s, e)
        if method == "knn-mbr":
            toks = L["tokens"]
            score = {}
            for c in best:
                acc = 0.0
                for s_, e_ in cands:
                    acc += s_ * _rouge_tokens(toks[c], toks[E["rationale"][e_]])
                score[c] = acc
            vote = score
        r = min(vote, key=lambda r: (-vote[r], r))
        s, e = best[r]
        return {"text": L["rationales"][r], "source": "retrieval", "neighbour_id": E["ids"][e], "similarity": s}


def _tokens(s, lang):
    s = s.lower().strip()
    if lang == "zh":
        return [c for c in s if not c.isspace()]
    return s.split()


def rouge_l(pred, ref, lang):
    return _rouge_tokens(_tokens(pred, lang), _tokens(ref, lang))


def _rouge_tokens(a, b):
    if not a or not b:
        return 0.0
    dp = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b):
            cur = dp[j + 1]
            dp[j + 1] = prev + 1 if x == y else max(dp[j + 1], dp[j])
            prev = cur
    lcs = dp[-1]
    if lcs == 0:
        return 0.0
    p, r = lcs / len(a), lcs / len(b)
    return 2 * p * r / (p + r)


def exact(pred, ref):
    return float(" ".join(pred.lower().split()) == " ".join(ref.lower().split()))
