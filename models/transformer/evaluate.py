"""evaluate.py measures converted sentio transformer model directories on the blocked dev split,
through the same onnxruntime path as reference.py (what sentio runs), beside the n-gram model.

    python3 evaluate.py --cls classifier --s2s seq2seq --out metrics.json

Per language: accuracy and macro-F1 of the label (the seq2seq's label is its constrained choice
among the three label strings); for the seq2seq, ROUGE-L and exact match of the greedy rationale
against the annotator's rationale, with models/reasoning/rationale.py's rouge_l (the function the
n-gram model's figures in models/reasoning/metrics.json were computed with, on the same split:
checked by the dev blocks in models/reasoning/model.json). Each model's figures are also written
into its model.json "metrics".
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from sklearn.metrics import f1_score

import common
import rationale as ngram_rationale  # models/reasoning/rationale.py (common puts it on the path)
import reference


def ngram_retrievals(dev):
    """ngram_retrievals runs the bundled n-gram model (models/reasoning: its ONNX graph, then its
    retrieval index with the predicted label) on the dev texts: {lang: [rationale text]}."""
    import gzip
    import features
    import ngram
    d = os.path.join(common.REPO, "models", "reasoning")
    with open(os.path.join(d, "model.json"), encoding="utf-8") as f:
        spec = json.load(f)["features"]
    with gzip.open(os.path.join(d, "rationale.json.gz"), "rt", encoding="utf-8") as f:
        ret = ngram_rationale.Retriever(json.load(f))
    run = ngram.Runner(os.path.join(d, "model.onnx"))
    out = {}
    for lang in common.LANGS:
        feats = [features.extract(r["text"], spec) for r in dev[lang]]
        probs, _ = run.run(feats)
        out[lang] = [ret(lang, common.LABELS[int(y)], fs)["text"] for fs, y in zip(feats, probs.argmax(1))]
    return out


def label_figures(gold, pred):
    g = [common.LABELS.index(x) for x in gold]
    p = [common.LABELS.index(x) for x in pred]
    f1 = f1_score(g, p, labels=[0, 1, 2], average=None, zero_division=0)
    return {"n": len(g), "accuracy": round(float(np.mean(np.array(g) == np.array(p))), 4),
            "macro_f1": round(float(np.mean(f1)), 4), "f1": {l: round(float(v), 4) for l, v in zip(common.LABELS, f1)}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cls", default="")
    ap.add_argument("--s2s", default="")
    ap.add_argument("--out", required=True)
    ap.add_argument("--shared", default=common.DEFAULT_SHARED)
    ap.add_argument("--seed", type=int, default=common.DEFAULT_SEED)
    ap.add_argument("--no-ngram-retrieval", action="store_true",
                    help="skip running the n-gram model's retrieval (generated vs retrieved rationale)")
    args = ap.parse_args()

    _, dev, info = common.split(args.shared, args.seed)
    with open(os.path.join(common.REPO, "models", "reasoning", "model.json")) as f:
        ng_split = json.load(f)["provenance"]["split"]
    if ng_split["dev_blocks"] != info["dev_blocks"]:
        raise SystemExit(f"models/reasoning/model.json: dev blocks {ng_split['dev_blocks']} differ from "
                         f"{info['dev_blocks']}; the n-gram figures are not on this split")
    with open(os.path.join(common.REPO, "models", "reasoning", "metrics.json")) as f:
        ng = json.load(f)
    out = {"split": {"name": "blocked dev split (models/reasoning/data.py)", **info},
           "ngram": {"dev": ng["dev"], "rationale_rouge_l": {l: ng["rationale"][l]["rouge_l"] for l in common.LANGS},
                     "rationale_exact_match": {l: ng["rationale"][l]["exact_match"] for l in common.LANGS},
                     "source": "models/reasoning/metrics.json (retrieval rationale, knn-mbr k=40, vs the annotator's)"}}
    retrieved = None
    if args.s2s and not args.no_ngram_retrieval:
        retrieved = ngram_retrievals(dev)
        out["ngram"]["rationale_rouge_l_recomputed"] = {
            l: round(float(np.mean([ngram_rationale.rouge_l(t, r["rationale"], l)
                                    for t, r in zip(retrieved[l], dev[l])])), 4) for l in common.LANGS}
    for key, d in (("classifier", args.cls), ("seq2seq", args.s2s)):
        if not d:
            continue
        t0 = time.time()
        run = reference.Runner(d)
        figs, rat = {}, {}
        for lang in common.LANGS:
            recs = dev[lang]
            rows = [run.ids(r["text"], lang) for r in recs]
            if run.kind == "encoder-classifier":
                probs = np.concatenate([run.classify(rows[i:i + 32]) for i in range(0, len(rows), 32)])
                pred = [run.m["labels"][int(np.argmax(p))] for p in probs]
            else:
                pred, rl, em, empty, rr = [], [], [], 0, []
                for k, (r, ids) in enumerate(zip(recs, rows)):
                    label, _, _, rids = run.reason(ids)
                    text = run.decode(rids)
                    pred.append(label)
                    if retrieved is not None:
                        rr.append(ngram_rationale.rouge_l(text, retrieved[lang][k], lang))
                    rl.append(ngram_rationale.rouge_l(text, r["rationale"], lang))
                    em.append(ngram_rationale.exact(text, r["rationale"]))
                    empty += int(not text.strip())
                rat[lang] = {"rouge_l": round(float(np.mean(rl)), 4), "exact_match": round(float(np.mean(em)), 4),
                             "empty_rate": round(empty / len(recs), 4)}
                if rr:
                    rat[lang]["rouge_l_vs_ngram_retrieval"] = round(float(np.mean(rr)), 4)
            figs[lang] = label_figures([r["label"] for r in recs], pred)
        figs["mean_macro_f1"] = round(float(np.mean([figs[l]["macro_f1"] for l in common.LANGS])), 4)
        res = {"dev": figs, "seconds": round(time.time() - t0, 1)}
        if rat:
            rat["mean_rouge_l"] = round(float(np.mean([rat[l]["rouge_l"] for l in common.LANGS])), 4)
            res["rationale"] = rat
        out[key] = res
        print(f"evaluate: {key}: {json.dumps(res)}", flush=True)
        mj = os.path.join(d, "model.json")
        with open(mj, encoding="utf-8") as f:
            man = json.load(f)
        man["metrics"] = {"split": "blocked dev split of models/reasoning/data.py, seed %d" % args.seed, **res}
        with open(mj, "w", encoding="utf-8") as f:
            json.dump(man, f, indent=1, ensure_ascii=False)
            f.write("\n")
    out["ngram"]["dev"]["mean_macro_f1"] = ng["dev"]["mean_macro_f1"]
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
