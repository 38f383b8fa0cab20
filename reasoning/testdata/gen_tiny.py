"""gen_tiny.py writes reasoning/testdata/tiny: a small model directory with the real model's
interface and graph structure (models/reasoning/ngram.py's export: in-graph tf-idf transform with
per-group L2 normalisation, a tf-idf member and an embedding-bag member), over a reduced hashed
vocabulary with fixed pseudo-random weights. The Go runtime's tests use it so they do not depend on
a trained model, and so they can check behaviour that must hold for any weights.

Run inside the train toolbox, from the repository root:
    SENTIO_TOOLBOX_PROFILE=train toolbox/run python3 reasoning/testdata/gen_tiny.py
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models", "reasoning"))

import features  # noqa: E402  (models/reasoning/features.py)
import ngram  # noqa: E402  (models/reasoning/ngram.py)
import rationale  # noqa: E402  (models/reasoning/rationale.py)

SHARED = os.environ.get("SENTIO_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
LANGS = ["vi", "en", "zh", "de", "fr"]
LABELS = ["negative", "neutral", "positive"]
PER_LABEL = 8  # training records per language and label in the tiny rationale index


def index_records():
    """index_records returns {lang: records}: the first PER_LABEL records of each label."""
    out = {}
    for lang in LANGS:
        path = os.path.join(SHARED, "data", "sentiment-reasoning", f"train.{lang}.jsonl")
        got = {lab: [] for lab in LABELS}
        with open(path, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                if len(got[r["label"]]) < PER_LABEL:
                    got[r["label"]].append(r)
        out[lang] = [r for lab in LABELS for r in got[lab]]
    return out

BUCKETS = 2048


def main(out=os.path.join(ROOT, "reasoning", "testdata", "tiny")):
    os.makedirs(out, exist_ok=True)
    spec = dict(features.SPEC)
    spec.update(word_buckets=BUCKETS, word_offset=1, char_buckets=BUCKETS, char_offset=1 + BUCKETS,
                num_ids=1 + 2 * BUCKETS)
    rng = np.random.default_rng(20261201)
    n = spec["num_ids"]
    idf = rng.uniform(1.0, 3.0, size=n).astype(np.float32)
    w = rng.normal(0.0, 2.0, size=(n, 3)).astype(np.float32)
    wb = rng.normal(0.0, 1.0, size=(n, 3)).astype(np.float32)
    w[0] = wb[0] = 0.0
    bias = np.array([0.1, 0.3, -0.2], np.float32)
    ngram.export(os.path.join(out, "model.onnx"), spec, idf, w, wb, bias)
    recs = index_records()
    feats = {lang: [features.extract(r["text"], spec) for r in rs] for lang, rs in recs.items()}
    index = rationale.build(recs, feats, idf, spec, 3, LABELS)
    rationale.save(index, os.path.join(out, "rationale.json.gz"))
    manifest = {
        "kind": "ngram-classifier",
        "version": "tiny-test-1",
        "labels": ["negative", "neutral", "positive"],
        "languages": ["vi", "en", "zh", "de", "fr"],
        "features": spec,
        "onnx": {"file": "model.onnx", "inputs": {"ids": "ids", "values": "values"},
                 "outputs": {"probs": "probs", "contributions": "contributions"}},
        "rationale": {"file": "rationale.json.gz", "format": rationale.FORMAT, "method": "knn-vote", "k": 3},
        "evidence": {"top_k": 10},
        "provenance": {"generator": "reasoning/testdata/gen_tiny.py", "seed": 20261201,
                       "note": "random weights: a test fixture, not a model"},
        "metrics": {},
    }
    with open(os.path.join(out, "model.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
