"""Recompute the shipped model's evidence figures after a change of the evidence rule (evidence.py),
without retraining: the model (model.onnx, its features and split) stays as fit.py wrote it.

  python3 refresh_evidence.py --shared /work/shared [--fixtures ../../reasoning/testdata/parity]

Rewrites model.json's "evidence" (the rule) and metrics.faithfulness, metrics.json's faithfulness,
and the "evidence" of every parity fixture record; it first checks that each fixture's features and
probabilities are what the model computes now. Then run card.py for MODEL_CARD.md's figures.
Needs numpy and onnxruntime only (the base toolbox): `make -C models/reasoning refresh-evidence`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

import data
import evidence
import features
import ngram


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../../../shared")
    ap.add_argument("--dir", default=".", help="the model directory (model.json, model.onnx, metrics.json)")
    ap.add_argument("--fixtures", default="../../reasoning/testdata/parity")
    a = ap.parse_args()
    with open(os.path.join(a.dir, "model.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    spec, seed = manifest["features"], manifest["provenance"]["seed"]
    _, dev, split_info = data.split(data.load(a.shared), seed)
    if split_info["dev_id_ranges"] != manifest["provenance"]["split"]["dev_id_ranges"]:
        sys.exit("the dev split differs from the one model.json was trained with")
    run = ngram.Runner(os.path.join(a.dir, "model.onnx"))

    faith, by_text = {}, {}
    for lang in data.LANGS:
        texts = [r["text"] for r in dev[lang]]
        feats = [features.extract(t, spec) for t in texts]
        probs, contribs = run.run(feats)
        preds = probs.argmax(1)
        faith[lang] = evidence.faithfulness(run, texts, feats, contribs, probs, preds, spec, seed)
        for t, fs, p, c, y in zip(texts, feats, probs, contribs, preds):
            by_text[(lang, t)] = (fs, p, evidence.spans_for(t, fs, c, int(y), spec["cjk_ranges"]))
        old = manifest["metrics"]["faithfulness"][lang]
        print(f"{lang}: comprehensiveness {old['comprehensiveness']} -> {faith[lang]['comprehensiveness']}, "
              f"sufficiency {old['sufficiency']} -> {faith[lang]['sufficiency']}, "
              f"share of text {old['evidence_share_of_text']} -> {faith[lang]['evidence_share_of_text']}", file=sys.stderr)

    if a.fixtures:
        for lang in data.LANGS:
            path = os.path.join(a.fixtures, f"{lang}.jsonl")
            with open(path, encoding="utf-8") as f:
                recs = [json.loads(line) for line in f if line.strip()]
            for rec in recs:
                fs, p, ev = by_text[(lang, rec["text"])]
                if [x[0] for x in fs] != rec["ids"] or np.abs(np.asarray(rec["probs"]) - p).max() > 1e-6:
                    sys.exit(f"{path} {rec['id']}: the fixture's features or probabilities are not the model's")
                rec["evidence"] = [{"start": s, "end": e, "text": rec["text"][s:e], "weight": w} for s, e, w in ev]
            with open(path, "w", encoding="utf-8") as f:
                for rec in recs:
                    f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    manifest["evidence"] = evidence.RULE
    manifest["metrics"]["faithfulness"] = faith
    with open(os.path.join(a.dir, "model.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")
    mpath = os.path.join(a.dir, "metrics.json")
    with open(mpath, encoding="utf-8") as f:
        metrics = json.load(f)
    metrics["faithfulness"] = faith
    with open(mpath, "w", encoding="utf-8") as f:
        json.dump(metrics, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
