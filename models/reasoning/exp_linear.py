"""Linear variants beyond the joint logistic regression, each still one additive model over the
graph's x (sublinear tf-idf, L2-normalised per word / char group), so it folds into the graph's W:
linear SVMs, NBSVM-style log-count-ratio scaling, naive Bayes, and logit averages of them.
Hyperparameters are chosen by a blocked 3-fold cross-validation INSIDE the training part (mean
out-of-fold macro-F1 over the five languages); dev is only evaluated. Numbers in MODEL_CARD.md
("What was tried"); not part of `make model-reasoning`.

  python3 exp_linear.py --shared /work/shared member lr --grid 0.25,0.5,1
  python3 exp_linear.py --shared /work/shared member svm-ovr --grid 0.03,0.1,0.3
  python3 exp_linear.py --shared /work/shared member svm-cs --grid 0.03,0.1,0.3
  python3 exp_linear.py --shared /work/shared member nbsvm --grid 0.1,0.3
  python3 exp_linear.py --shared /work/shared member nblr --grid 1,4
  python3 exp_linear.py --shared /work/shared member mnb --grid 0.1,0.3,1
  python3 exp_linear.py --shared /work/shared ens lr-0.5,svm-ovr-0.1      # logit average, weight by CV
  python3 exp_linear.py --shared /work/shared --wb 20 member lrx --grid 2  # one-language features x 2
  python3 exp_linear.py --shared /work/shared --wb 20 fam lr-0.5,lr-1.0 nblr-0.3,nblr-1.0,nblr-3.0
  python3 exp_linear.py --shared /work/shared show                         # every cached member

--wb 20: 2^20 word buckets (the shipped features) instead of 2^18.

Each member run caches build/m-<wb>-<name>-<hp>.npz: its out-of-fold logits on train, its dev logits
per language, and W, b fitted on all of train.
"""

from __future__ import annotations

import argparse
import glob
import os
import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB, MultinomialNB
from sklearn.svm import LinearSVC

import data
import exp
import ngram
from fit import nb_ratios, scores, train_nblr

LANGS, LABELS = data.LANGS, data.LABELS
FOLDS = 3


class Setup:
    def __init__(self, shared, seed, wb, cb, variant):
        self.spec, M, Y, train, dev = exp.load_mats(shared, seed, wb, cb, variant)
        idf = ngram.idf_vector(sp.vstack([M["tr", l] for l in LANGS]).tocsr())
        self.X = sp.vstack([ngram.tfidf(M["tr", l], idf, self.spec) for l in LANGS]).tocsr()
        self.y = np.concatenate([Y["tr", l] for l in LANGS])
        self.lang = np.concatenate([[l] * len(train[l]) for l in LANGS])
        blocks = np.concatenate([[data.id_num(r) // data.BLOCK for r in train[l]] for l in LANGS])
        fold_of = {b: i % FOLDS for i, b in enumerate(np.unique(blocks))}
        self.fold = np.array([fold_of[b] for b in blocks])
        self.Xd = {l: ngram.tfidf(M["dv", l], idf, self.spec).tocsr() for l in LANGS}
        self.yd = {l: Y["dv", l] for l in LANGS}
        self.tag = f"{wb}-{cb}{variant}"


def mf(y, p):
    return scores([LABELS[i] for i in y], np.asarray(p))["macro_f1"]


def balanced_weights(y):
    c = np.bincount(y, minlength=3).astype(float)
    return len(y) / (3 * c)


def exclusive(X, lang):
    """exclusive: a boolean per column, True when the feature occurs in the rows of exactly one language."""
    n = np.zeros(X.shape[1], np.int64)
    for l in LANGS:
        n += np.bincount(X[lang == l].indices, minlength=X.shape[1]) > 0
    return n == 1


def fit_member(kind, hp, X, y, seed, lang=None, C=0.5):
    """fit_member returns (W [F, 3], b [3]) of one linear model over x: logits = x W + b."""
    if kind == "lrx":
        # joint LR (C) with the features that occur in one training language only scaled by hp
        # (= their L2 penalty divided by hp^2); the scale folds back into W
        g = np.where(exclusive(X, lang), hp, 1.0)
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, tol=1e-5, random_state=seed).fit(X @ sp.diags(g), y)
        return g[:, None] * clf.coef_.T, clf.intercept_
    if kind == "lr":
        clf = LogisticRegression(C=hp, class_weight="balanced", max_iter=2000, tol=1e-5, random_state=seed).fit(X, y)
        return clf.coef_.T, clf.intercept_
    if kind in ("svm-ovr", "svm-cs"):
        clf = LinearSVC(C=hp, class_weight="balanced", loss="squared_hinge", max_iter=20000, tol=1e-5,
                        multi_class="ovr" if kind == "svm-ovr" else "crammer_singer", random_state=seed).fit(X, y)
        return clf.coef_.T, clf.intercept_
    if kind == "nblr":
        return train_nblr(X, y, hp, seed)  # the shipped NB-LR member (fit.py)
    if kind == "nbsvm":
        # Wang & Manning 2012, one-vs-rest: r_k = log((a + sum_{y=k} xb / |.|_1) / (a + sum_{y!=k} xb / |.|_1))
        # over binarised features xb, a = 1; class k's binary squared-hinge SVM sees r_k * x; its
        # weights fold back as W[:, k] = r_k * w_k. Interpolation beta = 1 (plain); class-balanced.
        W = np.zeros((X.shape[1], 3))
        b = np.zeros(3)
        for k, r in enumerate(nb_ratios(X, y)):
            Xr = X @ sp.diags(r)
            yk = (y == k).astype(int)
            clf = LinearSVC(C=hp, class_weight="balanced", loss="squared_hinge", max_iter=20000, tol=1e-5,
                            random_state=seed).fit(Xr, yk)
            W[:, k] = r * clf.coef_.ravel()
            b[k] = clf.intercept_[0]
        return W, b
    if kind in ("mnb", "cnb"):
        cls = MultinomialNB if kind == "mnb" else ComplementNB
        clf = cls(alpha=hp).fit(X, y, sample_weight=balanced_weights(y)[y])
        W = clf.feature_log_prob_.T.copy()
        if kind == "cnb":
            return W, np.zeros(3)  # ComplementNB's decision ignores the prior by default
        return W, clf.class_log_prior_ * 0  # balanced: uniform prior
    raise ValueError(kind)


def run_member(S, kind, hp, seed, force=False, C=0.5):
    path = f"build/m-{S.tag}-{kind}-{hp}.npz" if kind != "lrx" else f"build/m-{S.tag}-lrx{C}-{hp}.npz"
    if os.path.exists(path) and not force:
        return dict(np.load(path))
    t0 = time.time()
    oof = np.zeros((len(S.y), 3))
    for k in range(FOLDS):
        tr, te = S.fold != k, S.fold == k
        W, b = fit_member(kind, hp, S.X[tr], S.y[tr], seed, S.lang[tr], C)
        oof[te] = S.X[te] @ W + b
    W, b = fit_member(kind, hp, S.X, S.y, seed, S.lang, C)
    out = {"oof": oof, "W": W.astype(np.float32), "b": b.astype(np.float32), "seconds": time.time() - t0}
    for l in LANGS:
        out["dev_" + l] = np.asarray(S.Xd[l] @ W + b)
    np.savez(path, **out)
    return out


def evaluate(S, oof, dev):
    o = {l: mf(S.y[S.lang == l], oof[S.lang == l].argmax(1)) for l in LANGS}
    d = {l: mf(S.yd[l], dev[l].argmax(1)) for l in LANGS}
    return o, d


def bar():
    import json
    b = json.load(open("baseline.json"))["per_language"]
    return {l: b[l]["best"]["macro_f1"] for l in LANGS}


def line(tag, o, d, B):
    ok = all(d[l] >= B[l] for l in LANGS)
    return (f"{tag:34s} oof " + " ".join(f"{o[l]:.4f}" for l in LANGS) + f" m {np.mean(list(o.values())):.4f} | dev "
            + " ".join(f"{l} {d[l]:.4f}" for l in LANGS) + f" m {np.mean(list(d.values())):.4f}" + ("  MEETS BAR" if ok else ""))


def temperature(S, oof):
    """temperature: the scale a minimising the out-of-fold log loss of softmax(a * logits)."""
    def nll(la):
        z = np.exp(la) * oof
        z = z - z.max(1, keepdims=True)
        return -(z[np.arange(len(S.y)), S.y] - np.log(np.exp(z).sum(1))).mean()
    r = minimize_scalar(nll, bounds=(-5, 5), method="bounded")
    return float(np.exp(r.x)), float(r.fun)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../../../shared")
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--wb", type=int, default=18)
    ap.add_argument("--cb", type=int, default=18)
    ap.add_argument("--variant", default="PR")
    ap.add_argument("--grid", default="")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--C", type=float, default=0.5, help="C of the lrx member")
    ap.add_argument("what", choices=["member", "ens", "fam", "show"])
    ap.add_argument("arg", nargs="?", default="")
    ap.add_argument("arg2", nargs="?", default="")
    a = ap.parse_args()
    S = Setup(a.shared, a.seed, a.wb, a.cb, a.variant)
    B = bar()
    print("bar (tuned baseline) " + " ".join(f"{l} {B[l]:.4f}" for l in LANGS), flush=True)
    if a.what == "member":
        best = None
        for hp in [float(x) for x in a.grid.split(",")]:
            m = run_member(S, a.arg, hp, a.seed, a.force, a.C)
            o, d = evaluate(S, m["oof"], {l: m["dev_" + l] for l in LANGS})
            t, ll = temperature(S, m["oof"])
            print(line(f"{S.tag} {a.arg} {hp}", o, d, B) + f"  T {t:.2f} nll {ll:.3f} ({float(m['seconds']):.0f}s)", flush=True)
            key = np.mean(list(o.values()))
            if best is None or key > best[0]:
                best = (key, hp)
        print(f"chosen by CV: {a.arg} {best[1]}", flush=True)
    elif a.what == "fam":
        # two families of members (arg, arg2), each the mean of its members' logits in the first
        # member's units (scaled by their OOF temperatures), mixed with weight s for the second
        # family; s chosen by OOF mean macro-F1. The shipped model is "fam lr-0.5,lr-1.0
        # nblr-0.3,nblr-1.0,nblr-3.0" with --wb 20 at s = 0.2 (see MODEL_CARD.md).
        def load(n):
            kind, hp = n.rsplit("-", 1)
            m = run_member(S, kind, float(hp), a.seed)
            return m, temperature(S, m["oof"])[0]
        FA, FB = [load(n) for n in a.arg.split(",")], [load(n) for n in a.arg2.split(",")]
        t0 = FA[0][1]
        print("scales (OOF temperature / the first member's): " + ", ".join(
            f"{n} {t / t0:.4f}" for n, (_, t) in zip(a.arg.split(",") + a.arg2.split(","), FA + FB)), flush=True)
        fam = lambda F, key: sum((t / t0) * m[key] for m, t in F) / len(F)
        res = []
        for s in [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]:
            oof = (1 - s) * fam(FA, "oof") + s * fam(FB, "oof")
            dev = {l: (1 - s) * fam(FA, "dev_" + l) + s * fam(FB, "dev_" + l) for l in LANGS}
            o, d = evaluate(S, oof, dev)
            res.append((np.mean(list(o.values())), s))
            print(line(f"fam {a.arg} | {a.arg2} s={s}", o, d, B), flush=True)
        print(f"chosen by CV: s = {max(res)[1]}", flush=True)
    elif a.what == "show":
        for f in sorted(glob.glob(f"build/m-{S.tag}-*.npz")):
            m = dict(np.load(f))
            o, d = evaluate(S, m["oof"], {l: m["dev_" + l] for l in LANGS})
            print(line(os.path.basename(f)[2:-4], o, d, B), flush=True)
    else:
        # logit average of members; every member after the first is scaled by its own OOF
        # temperature relative to the first's, then mixed with weight s chosen by OOF mean macro-F1
        names = a.arg.split(",")
        mem = []
        for n in names:
            kind, hp = n.rsplit("-", 1)
            m = run_member(S, kind, float(hp), a.seed)
            t, _ = temperature(S, m["oof"])
            mem.append((n, m, t))
        t0 = mem[0][2]
        if len(mem) == 2:
            grid = [(round(1 - s, 1), s) for s in [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]]
        else:  # three members: the weight simplex in steps of 0.1, first member >= 0.3
            grid = [(round(1 - s2 - s3, 1), s2, s3) for s2 in np.round(np.arange(0, 0.75, 0.1), 1)
                    for s3 in np.round(np.arange(0, 0.75, 0.1), 1) if s2 + s3 <= 0.7 + 1e-9]
        res = []
        for ws in grid:
            s = ws[1:] if len(ws) > 2 else ws[1]
            # logits in the first member's scale: sum_j w_j * (t_j / t_0) * logits_j
            oof = sum(w * (t / t0) * m["oof"] for w, (_, m, t) in zip(ws, mem))
            dev = {l: sum(w * (t / t0) * m["dev_" + l] for w, (_, m, t) in zip(ws, mem)) for l in LANGS}
            o, d = evaluate(S, oof, dev)
            res.append((np.mean(list(o.values())), s))
            print(line(f"ens {a.arg} s={s}", o, d, B), flush=True)
        print(f"chosen by CV: s = {max(res)[1]}", flush=True)


if __name__ == "__main__":
    main()
