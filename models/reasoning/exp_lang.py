"""Language-aware variants tried against the per-language TF-IDF + LR baseline on the blocked dev
split (numbers in MODEL_CARD.md, "What was tried"); not part of `make model-reasoning`. Needs the
feature matrices and models that exp.py caches in build/ (run first:
`exp.py lr --variant PR --C 0.5 --save build/lr-PR-C{C}.npz` and
`exp.py lr --variant PR --per-lang --C 1 --save build/perlang-PR-C{C}.npz`).

  python3 exp_lang.py --shared /work/shared ens        # joint + per-language LR, logit average, by language
  python3 exp_lang.py --shared /work/shared aug        # one LR over language-conjoined features
  python3 exp_lang.py --shared /work/shared langcal    # class-prior offsets per language, blocked CV on train
  python3 exp_lang.py --shared /work/shared perlang-C  # per-language LR at C = 2, 4 (en, vi)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

import data
import exp
import ngram
from fit import scores

LANGS, LABELS = data.LANGS, data.LABELS


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../../../shared")
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("what", choices=["ens", "aug", "langcal", "perlang-C"])
    a = ap.parse_args()
    spec, M, Y, train, dev = exp.load_mats(a.shared, a.seed, 18, 18, "PR")
    idf = ngram.idf_vector(sp.vstack([M["tr", l] for l in LANGS]).tocsr())
    T = {k: ngram.tfidf(v, idf, spec).tocsr() for k, v in M.items()}
    yall = np.concatenate([Y["tr", l] for l in LANGS])

    def mf(y, p):
        return scores([LABELS[i] for i in y], np.asarray(p))["macro_f1"]

    def show(tag, res):
        print(f"{tag:40s} " + " ".join(f"{l} {res[l]:.4f}" for l in LANGS) + f"  mean {np.mean(list(res.values())):.4f}", flush=True)

    if a.what == "ens":
        # for language l: (1-s) * joint + s * the LR trained on l alone (one linear model per language)
        zj, zp = np.load("build/lr-PR-C0.5.npz"), np.load("build/perlang-PR-C1.0.npz")
        for s in [0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0]:
            show(f"ens s={s}", {l: mf(Y["dv", l], (T["dv", l] @ ((1 - s) * zj["W"] + s * zp[f"W_{l}"])
                                                   + (1 - s) * zj["b"] + s * zp[f"b_{l}"]).argmax(1)) for l in LANGS})
    elif a.what == "aug":
        # bias: one indicator column per language (a per-language intercept learned on train);
        # copy: a language-specific copy of every feature next to the shared one (Daume 2007)
        def aug(X, li, mode):
            parts = [X]
            if "copy" in mode:
                parts += [X if j == li else sp.csr_matrix(X.shape) for j in range(len(LANGS))]
            if "bias" in mode:
                n = X.shape[0]
                parts.append(sp.csr_matrix((np.ones(n), (np.arange(n), np.full(n, li))), shape=(n, len(LANGS))))
            return sp.hstack(parts).tocsr()
        for mode in ["bias", "copy", "copybias"]:
            t0 = time.time()
            Xtr = sp.vstack([aug(T["tr", l], i, mode) for i, l in enumerate(LANGS)]).tocsr()
            clf = LogisticRegression(C=0.5, class_weight="balanced", max_iter=2000, tol=1e-5).fit(Xtr, yall)
            show(f"aug {mode} C=0.5 ({time.time()-t0:.0f}s)",
                 {l: mf(Y["dv", l], (aug(T["dv", l], i, mode) @ clf.coef_.T + clf.intercept_).argmax(1)) for i, l in enumerate(LANGS)})
    elif a.what == "langcal":
        # out-of-fold logits of a blocked 3-fold CV inside train; per language the (neg, pos) bias
        # offsets in -0.6..0.6 maximising out-of-fold macro-F1 (smallest offsets on ties); applied to
        # the joint model trained on all of train. Dev is only evaluated.
        Tall = sp.vstack([T["tr", l] for l in LANGS]).tocsr()
        ids = np.concatenate([[data.id_num(r) // data.BLOCK for r in train[l]] for l in LANGS])
        langs = np.concatenate([[l] * len(train[l]) for l in LANGS])
        fold_of = {b: i % 3 for i, b in enumerate(np.unique(ids))}
        folds = np.array([fold_of[b] for b in ids])
        oof = np.zeros((len(yall), 3))
        for k in range(3):
            tr, te = folds != k, folds == k
            clf = LogisticRegression(C=0.5, class_weight="balanced", max_iter=2000, tol=1e-5).fit(Tall[tr], yall[tr])
            oof[te] = Tall[te] @ clf.coef_.T + clf.intercept_
        grid = np.round(np.arange(-0.6, 0.61, 0.1), 2)
        z = np.load("build/lr-PR-C0.5.npz")
        res = {}
        for l in LANGS:
            m = langs == l
            best = max((mf(yall[m], (oof[m] + [dn, 0, dp]).argmax(1)), -abs(dn) - abs(dp), dn, dp) for dn in grid for dp in grid)
            print(f"{l}: out-of-fold macro-F1 {mf(yall[m], oof[m].argmax(1)):.4f}, best {best[0]:.4f} at neg {best[2]} pos {best[3]}", flush=True)
            res[l] = mf(Y["dv", l], (T["dv", l] @ z["W"] + z["b"] + [best[2], 0, best[3]]).argmax(1))
        show("langcal", res)
    else:
        for l in ["en", "vi"]:
            for C in [2.0, 4.0]:
                clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, tol=1e-5).fit(T["tr", l], Y["tr", l])
                print(f"{l} per-language LR C={C}: {mf(Y['dv', l], clf.predict(T['dv', l])):.4f}", flush=True)


if __name__ == "__main__":
    main()
