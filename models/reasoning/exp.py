"""Experiments behind the shipped configuration (numbers in MODEL_CARD.md). Evaluates variants on
the blocked dev split and prints macro-F1 per language; not part of `make model-reasoning`.

  python3 exp.py --shared /work/shared lr --C 1,2,4 [--wb 18 --cb 18] [--per-lang] [--cw balanced]
  python3 exp.py --shared /work/shared bag --dim 32 --epochs 10
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
from train import scores

LANGS, LABELS = data.LANGS, data.LABELS


def spec_for(wb, cb):
    s = copy.deepcopy(features.SPEC)
    s["word_buckets"] = 1 << wb
    s["char_buckets"] = 1 << cb
    s["word_offset"] = 1
    s["char_offset"] = 1 + (1 << wb)
    s["num_ids"] = 1 + (1 << wb) + (1 << cb)
    return s


def load_mats(shared, seed, wb, cb, cache="build"):
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, f"mats-{seed}-{wb}-{cb}.npz")
    D = data.load(shared)
    train, dev, _ = data.split(D, seed)
    spec = spec_for(wb, cb)
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
    ap.add_argument("--C", default="1,2,4")
    ap.add_argument("--cw", default="balanced")
    ap.add_argument("--per-lang", action="store_true")
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--save", default="")
    a = ap.parse_args()
    spec, M, Y, train, dev = load_mats(a.shared, a.seed, a.wb, a.cb)
    Xall = sp.vstack([M["tr", l] for l in LANGS]).tocsr()
    yall = np.concatenate([Y["tr", l] for l in LANGS])
    idf = ngram.idf_vector(Xall)
    T = {k: ngram.tfidf(v, idf, spec) for k, v in M.items()}
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
                res = {}
                for l in LANGS:
                    p = models[l].predict(T["dv", l])
                    res[l] = scores([LABELS[i] for i in Y["dv", l]], p)["macro_f1"]
                print(f"lr per-lang C={C} cw={a.cw} wb={a.wb} cb={a.cb}".ljust(50) + " " + " ".join(f"{l} {res[l]:.4f}" for l in LANGS) + f"  mean {np.mean(list(res.values())):.4f}", flush=True)
                continue
            clf = LogisticRegression(C=C, class_weight=cw, max_iter=2000, tol=1e-5)
            clf.fit(Tall, yall)
            W, b = clf.coef_.T, clf.intercept_
            fn = lambda X: X.__class__  # placeholder
            res = {}
            for l in LANGS:
                lg = T["dv", l] @ W + b
                res[l] = scores([LABELS[i] for i in Y["dv", l]], lg.argmax(1))["macro_f1"]
            print(f"lr joint C={C} cw={a.cw} wb={a.wb} cb={a.cb}".ljust(50) + " " + " ".join(f"{l} {res[l]:.4f}" for l in LANGS) + f"  mean {np.mean(list(res.values())):.4f} ({time.time()-t0:.0f}s)", flush=True)
            if a.save:
                np.savez(a.save.replace("{C}", str(C)), W=W.astype(np.float32), b=b.astype(np.float32))
    elif a.what == "bag":
        import torch
        torch.manual_seed(a.seed)
        torch.set_num_threads(2)
        B = {k: ngram.meanbag(v) for k, v in M.items()}
        Ball = sp.vstack([B["tr", l] for l in LANGS]).tocsr()
        n_ids = spec["num_ids"]
        emb = torch.nn.EmbeddingBag(n_ids, a.dim, mode="sum", sparse=True)
        torch.nn.init.uniform_(emb.weight, -1.0 / a.dim, 1.0 / a.dim)
        head = torch.nn.Linear(a.dim, 3)
        counts = np.bincount(yall, minlength=3)
        wts = torch.tensor(len(yall) / (3.0 * counts), dtype=torch.float32) if cw else None
        opt_s = torch.optim.SparseAdam(list(emb.parameters()), lr=a.lr)
        opt_d = torch.optim.Adam(head.parameters(), lr=a.lr)
        lossf = torch.nn.CrossEntropyLoss(weight=wts)

        def batches(X, idx):
            Xs = X[idx]
            return (torch.tensor(Xs.indices, dtype=torch.int64), torch.tensor(Xs.indptr[:-1], dtype=torch.int64),
                    torch.tensor(Xs.data, dtype=torch.float32))

        def fold():
            with torch.no_grad():
                return (emb.weight @ head.weight.T).numpy(), head.bias.numpy().copy()

        rng = np.random.default_rng(a.seed)
        for ep in range(a.epochs):
            perm = rng.permutation(len(yall))
            tot = 0
            for i in range(0, len(perm), 32):
                idx = perm[i:i + 32]
                ind, off, w = batches(Ball, idx)
                logits = head(emb(ind, off, per_sample_weights=w))
                loss = lossf(logits, torch.tensor(yall[idx]))
                opt_s.zero_grad(); opt_d.zero_grad()
                loss.backward()
                opt_s.step(); opt_d.step()
                tot += loss.item() * len(idx)
            U, ub = fold()
            report(f"bag d={a.dim} ep={ep+1} lr={a.lr}", spec, lambda X: ngram.meanbag(X) @ U + ub, M, Y, f"loss {tot/len(yall):.4f}")
        if a.save:
            U, ub = fold()
            np.savez(a.save, W=U.astype(np.float32), b=ub.astype(np.float32))


if __name__ == "__main__":
    main()
