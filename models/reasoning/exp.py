"""Experiments behind the shipped configuration (numbers in MODEL_CARD.md). Evaluates variants on
the blocked dev split and prints macro-F1 per language; not part of `make model-reasoning`.

  python3 exp.py --shared /work/shared lr --C 1,2,4 [--wb 18 --cb 18] [--per-lang] [--cw balanced]
  python3 exp.py --shared /work/shared bag --variant PR --dim 32 --epochs 100 --save build/bag.npz
  python3 exp.py --shared /work/shared ens --variant PR --C 0.1,0.2 --save build/lr.npz,build/bag.npz
  python3 exp.py --shared /work/shared cal --variant PR --C 0.5 --save build/lr.npz
(--epochs is the number of full-batch steps for bag; --C is the member weight list for ens.)
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

import data
import features
import ngram
from fit import scores

LANGS, LABELS = data.LANGS, data.LABELS


def spec_for(wb, cb, variant=""):
    s = copy.deepcopy(features.SPEC)
    if "P" in variant:
        s["punct_tokens"] = True
    if "R" in variant:
        s["char_runs"] = "word_punct"
    if "1" in variant:
        s["char_ngrams"] = [1, 5]
    if "3" in variant:
        s["word_ngrams"] = [1, 3]
    if "6" in variant:
        s["char_ngrams"] = [2, 6]
    s["word_buckets"] = 1 << wb
    s["char_buckets"] = 1 << cb
    s["word_offset"] = 1
    s["char_offset"] = 1 + (1 << wb)
    s["num_ids"] = 1 + (1 << wb) + (1 << cb)
    return s


def load_mats(shared, seed, wb, cb, variant="", cache="build"):
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, f"mats-{seed}-{wb}-{cb}{variant}.npz")
    D = data.load(shared)
    train, dev, _ = data.split(D, seed)
    spec = spec_for(wb, cb, variant)
    if os.path.exists(path):
        z = np.load(path, allow_pickle=True)
        M = z["M"].item()
    else:
        M = {}
        for lang in LANGS:
            M["tr", lang] = ngram.matrix([r["text"] for r in train[lang]], spec)[0]
            M["dv", lang] = ngram.matrix([r["text"] for r in dev[lang]], spec)[0]
        np.savez(path, M=np.array(M, dtype=object))
    Y = {}
    for lang in LANGS:
        Y["tr", lang] = np.array([LABELS.index(r["label"]) for r in train[lang]])
        Y["dv", lang] = np.array([LABELS.index(r["label"]) for r in dev[lang]])
    return spec, M, Y, train, dev


def report(tag, spec, logits_fn, M, Y, extra=""):
    res = {}
    for lang in LANGS:
        p = logits_fn(M["dv", lang]).argmax(1)
        res[lang] = scores([LABELS[i] for i in Y["dv", lang]], p)["macro_f1"]
    mean = np.mean(list(res.values()))
    print(f"{tag:50s} " + " ".join(f"{l} {res[l]:.4f}" for l in LANGS) + f"  mean {mean:.4f} {extra}", flush=True)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../../../shared")
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--wb", type=int, default=18)
    ap.add_argument("--cb", type=int, default=18)
    ap.add_argument("what")
    ap.add_argument("--variant", default="", help="P: punctuation tokens, R: char runs over word+punct, 1: char 1-5, 6: char 2-6")
    ap.add_argument("--C", default="1,2,4")
    ap.add_argument("--cw", default="balanced")
    ap.add_argument("--per-lang", action="store_true")
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--save", default="")
    ap.add_argument("--lang-weight", default="", help="sample weight per language, e.g. vi=2,en=2")
    ap.add_argument("--alpha", type=float, default=1.0, help="scale of the word-group values")
    a = ap.parse_args()
    spec, M, Y, train, dev = load_mats(a.shared, a.seed, a.wb, a.cb, a.variant)
    Xall = sp.vstack([M["tr", l] for l in LANGS]).tocsr()
    yall = np.concatenate([Y["tr", l] for l in LANGS])
    idf = ngram.idf_vector(Xall)
    T = {k: ngram.tfidf(v, idf, spec) for k, v in M.items()}
    if a.alpha != 1.0:
        for k in T:
            X = T[k].tocsr()
            X.data = X.data * np.where(X.indices < spec["char_offset"], a.alpha, 1.0).astype(np.float32)
            T[k] = X
    Tall = sp.vstack([T["tr", l] for l in LANGS]).tocsr()
    cw = None if a.cw == "none" else a.cw
    if a.what == "lr":
        for C in [float(c) for c in a.C.split(",")]:
            t0 = time.time()
            if a.per_lang:
                models = {}
                for l in LANGS:
                    clf = LogisticRegression(C=C, class_weight=cw, max_iter=2000, tol=1e-5)
                    clf.fit(T["tr", l], Y["tr", l])
                    models[l] = clf
                if a.save:
                    np.savez(a.save.replace("{C}", str(C)), **{f"W_{l}": models[l].coef_.T.astype(np.float32) for l in LANGS},
                             **{f"b_{l}": models[l].intercept_.astype(np.float32) for l in LANGS})
                res = {}
                for l in LANGS:
                    p = models[l].predict(T["dv", l])
                    res[l] = scores([LABELS[i] for i in Y["dv", l]], p)["macro_f1"]
                print(f"lr per-lang C={C} cw={a.cw} wb={a.wb} cb={a.cb} {a.variant} a={a.alpha} {a.lang_weight}".ljust(50) + " " + " ".join(f"{l} {res[l]:.4f}" for l in LANGS) + f"  mean {np.mean(list(res.values())):.4f}", flush=True)
                continue
            clf = LogisticRegression(C=C, class_weight=cw, max_iter=2000, tol=1e-5)
            lw = dict((kv.split("=")[0], float(kv.split("=")[1])) for kv in a.lang_weight.split(",") if kv)
            sw = np.concatenate([np.full(len(train[l]), lw.get(l, 1.0)) for l in LANGS])
            clf.fit(Tall, yall, sample_weight=sw)
            W, b = clf.coef_.T, clf.intercept_
            res = {}
            for l in LANGS:
                lg = T["dv", l] @ W + b
                res[l] = scores([LABELS[i] for i in Y["dv", l]], lg.argmax(1))["macro_f1"]
            print(f"lr joint C={C} cw={a.cw} wb={a.wb} cb={a.cb} {a.variant} a={a.alpha} {a.lang_weight}".ljust(50) + " " + " ".join(f"{l} {res[l]:.4f}" for l in LANGS) + f"  mean {np.mean(list(res.values())):.4f} ({time.time()-t0:.0f}s)", flush=True)
            if a.save:
                np.savez(a.save.replace("{C}", str(C)), W=W.astype(np.float32), b=b.astype(np.float32))
    elif a.what == "cal":
        # class-prior calibration: bias offsets chosen on out-of-fold logits of a blocked 3-fold
        # cross-validation inside the training part (dev is not used), applied to --save's model
        ids = np.concatenate([[data.id_num(r) // data.BLOCK for r in train[l]] for l in LANGS])
        langs = np.concatenate([[l] * len(train[l]) for l in LANGS])
        ublocks = np.unique(ids)
        fold_of = {b: i % 3 for i, b in enumerate(ublocks)}
        folds = np.array([fold_of[b] for b in ids])
        oof = np.zeros((len(yall), 3))
        C = float(a.C.split(",")[0])
        for k in range(3):
            tr, te = folds != k, folds == k
            clf = LogisticRegression(C=C, class_weight=cw, max_iter=2000, tol=1e-5)
            clf.fit(Tall[tr], yall[tr])
            oof[te] = Tall[te] @ clf.coef_.T + clf.intercept_
            print(f"fold {k} done", flush=True)
        def obj(d):
            p = (oof + d).argmax(1)
            return np.mean([scores([LABELS[i] for i in yall[langs == l]], p[langs == l])["macro_f1"] for l in LANGS])
        grid = np.round(np.arange(-0.6, 0.61, 0.1), 2)
        best = max(((obj(np.array([dn, 0.0, dp])), dn, dp) for dn in grid for dp in grid))
        print(f"oof macro-F1 no offset {obj(np.zeros(3)):.4f}; best {best[0]:.4f} at neg {best[1]} pos {best[2]}", flush=True)
        z = np.load(a.save)
        W, b = z["W"], z["b"]
        for tag, d in [("none", np.zeros(3)), ("cal", np.array([best[1], 0.0, best[2]]))]:
            res = {}
            for l in LANGS:
                lg = T["dv", l] @ W + b + d
                res[l] = scores([LABELS[i] for i in Y["dv", l]], np.asarray(lg).argmax(1))["macro_f1"]
            print(f"cal {tag} {d} {a.save}".ljust(50) + " " + " ".join(f"{l} {res[l]:.4f}" for l in LANGS) + f"  mean {np.mean(list(res.values())):.4f}", flush=True)
    elif a.what == "sum":
        # joint model (first file) + the sum of the per-language models (second file), each
        # per-language member scaled by s: one linear model over the same features
        zj = np.load(a.save.split(",")[0])
        zp = np.load(a.save.split(",")[1])
        for s_ in [float(x) for x in a.C.split(",")]:
            W = zj["W"] + s_ * sum(zp[f"W_{l}"] for l in LANGS)
            b = zj["b"] + s_ * sum(zp[f"b_{l}"] for l in LANGS)
            res = {}
            for l in LANGS:
                lg = T["dv", l] @ W + b
                res[l] = scores([LABELS[i] for i in Y["dv", l]], np.asarray(lg).argmax(1))["macro_f1"]
            print(f"sum s={s_}".ljust(50) + " " + " ".join(f"{l} {res[l]:.4f}" for l in LANGS) + f"  mean {np.mean(list(res.values())):.4f}", flush=True)
    elif a.what == "ens":
        # --save holds comma-separated member files: lr-*.npz (tf-idf values) and bag-*.npz (mean values)
        mem = []
        for f in a.save.split(","):
            z = np.load(f)
            kind = "bag" if os.path.basename(f).startswith("bag") else "lr"
            mem.append((kind, z["W"], z["b"]))
        Bd = {k: ngram.meanbag(v) for k, v in M.items() if k[0] == "dv"}
        for s in [float(x) for x in a.C.split(",")]:
            res = {}
            for l in LANGS:
                lg = 0
                for i, (kind, W, b) in enumerate(mem):
                    w = (1 - s) if i == 0 else s / (len(mem) - 1)
                    Xv = T["dv", l] if kind == "lr" else Bd["dv", l]
                    lg = lg + w * (Xv @ W + b)
                res[l] = scores([LABELS[i] for i in Y["dv", l]], np.asarray(lg).argmax(1))["macro_f1"]
            print(f"ens s={s} {a.save}".ljust(50) + " " + " ".join(f"{l} {res[l]:.4f}" for l in LANGS) + f"  mean {np.mean(list(res.values())):.4f}", flush=True)
    elif a.what == "bag":
        import bag
        B = {k: ngram.meanbag(v) for k, v in M.items()}
        Ball = sp.vstack([B["tr", l] for l in LANGS]).tocsr()
        def ev(step, loss, U, ub):
            report(f"bag d={a.dim} step={step} lr={a.lr}", spec, lambda X: ngram.meanbag(X) @ U + ub, M, Y, f"loss {loss:.4f}")
        U, ub = bag.train(Ball, yall, spec["num_ids"], dim=a.dim, steps=a.epochs, lr=a.lr, seed=a.seed, balanced=bool(cw), eval_fn=ev)
        if a.save:
            np.savez(a.save, W=U, b=ub)

if __name__ == "__main__":
    main()
