"""Data loading and the blocked dev split of the Sentiment-Reasoning training data."""

from __future__ import annotations

import json
import os

import numpy as np

LANGS = ["vi", "en", "zh", "de", "fr"]
LABELS = ["negative", "neutral", "positive"]

# The blocked split: ids train-00000 .. train-05694 are cut into contiguous blocks of BLOCK ids
# (block b holds ids b*BLOCK .. b*BLOCK+BLOCK-1); DEV_BLOCKS of them, drawn without replacement
# by numpy.random.default_rng(seed).choice, are the dev split in EVERY language, so no translation
# of a dev utterance is trained on.
BLOCK = 100
DEV_BLOCKS = 9


def load(shared: str):
    """load returns {lang: [record, ...]} from SHARED/data/sentiment-reasoning."""
    base = os.path.join(shared, "data", "sentiment-reasoning")
    out = {}
    for lang in LANGS:
        path = os.path.join(base, f"train.{lang}.jsonl")
        with open(path, encoding="utf-8") as f:
            out[lang] = [json.loads(line) for line in f if line.strip()]
    return out


def id_num(rec) -> int:
    return int(rec["id"].split("-")[1])


def dev_blocks(data, seed: int):
    n = max(id_num(r) for r in data["vi"]) + 1
    nblocks = (n + BLOCK - 1) // BLOCK
    rng = np.random.default_rng(seed)
    return sorted(int(b) for b in rng.choice(nblocks, size=DEV_BLOCKS, replace=False)), nblocks


def split(data, seed: int):
    """split returns (train, dev, info): {lang: [records]} each, and a description of the split."""
    blocks, nblocks = dev_blocks(data, seed)
    bs = set(blocks)
    train, dev = {}, {}
    for lang, recs in data.items():
        train[lang] = [r for r in recs if id_num(r) // BLOCK not in bs]
        dev[lang] = [r for r in recs if id_num(r) // BLOCK in bs]
    info = {
        "method": f"blocked: ids cut into contiguous blocks of {BLOCK}; {DEV_BLOCKS} of {nblocks} blocks "
                  "drawn with numpy.random.default_rng(seed).choice(nblocks, size, replace=False) are dev, "
                  "the same ids in every language",
        "block_size": BLOCK,
        "dev_blocks": blocks,
        "dev_id_ranges": [[f"train-{b*BLOCK:05d}", f"train-{b*BLOCK+BLOCK-1:05d}"] for b in blocks],
        "seed": seed,
        "counts": {lang: {"train": len(train[lang]), "dev": len(dev[lang])} for lang in data},
    }
    return train, dev, info
