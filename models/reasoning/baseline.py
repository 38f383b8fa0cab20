"""The reference baseline: TF-IDF (word 1-2 grams + char_wb 2-5 grams, sublinear tf) + logistic
regression (class_weight balanced), one model per language, on the same blocked split.

  python3 baseline.py --shared /work/shared --seed 20261201 --out baseline.json

C is chosen per language from --grid by macro-F1 on the dev split itself (this flatters the baseline,
which makes "the shipped model beats it" a stricter claim); the C=1 figures are reported too.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

import data
from fit import scores


def run(tr, dv, C, seed):
    wv = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
    cv = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True)
    ttr = [r["text"] for r in tr]
    tdv = [r["text"] for r in dv]
    Xtr = sp.hstack([wv.fit_transform(ttr), cv.fit_transform(ttr)]).tocsr()
    Xdv = sp.hstack([wv.transform(tdv), cv.transform(tdv)]).tocsr()
    y = [r["label"] for r in tr]
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed)
    clf.fit(Xtr, y)
    return scores([r["label"] for r in dv], list(clf.predict(Xdv)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../../../shared")
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--grid", default="1,2,4,8,16")
    ap.add_argument("--out", default="baseline.json")
    a = ap.parse_args()
    D = data.load(a.shared)
    train, dev, _ = data.split(D, a.seed)
    out = {"method": __doc__.strip(), "per_language": {}}
    for lang in data.LANGS:
        res = {}
        for C in [float(c) for c in a.grid.split(",")]:
            res[C] = run(train[lang], dev[lang], C, a.seed)
            print(lang, C, res[C]["macro_f1"], file=sys.stderr)
        best = max(res, key=lambda c: res[c]["macro_f1"])
        out["per_language"][lang] = {"best_C": best, "best": res[best], "C=1": res.get(1.0),
                                     "grid": {str(c): res[c]["macro_f1"] for c in res}}
    out["mean_macro_f1_best"] = round(float(np.mean([out["per_language"][l]["best"]["macro_f1"] for l in data.LANGS])), 4)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
