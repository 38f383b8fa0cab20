"""Shared helpers of models/transformer: the blocked split of models/reasoning, paths, provenance."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "models", "reasoning"))

import data as reasoning_data  # noqa: E402  (models/reasoning/data.py: the blocked dev split)

LANGS = reasoning_data.LANGS
LABELS = reasoning_data.LABELS
DEFAULT_SEED = 20261201
DEFAULT_SHARED = os.path.abspath(os.path.join(REPO, "..", "shared"))
SEPARATOR = ": "


def split(shared: str, seed: int):
    """split returns (train, dev, info) of models/reasoning/data.py: the same blocked dev split."""
    return reasoning_data.split(reasoning_data.load(shared), seed)


def target(rec) -> str:
    """target is the seq2seq training target: <label><separator><rationale>."""
    return f"{rec['label']}{SEPARATOR}{rec['rationale']}"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:
        return "unknown"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def provenance(train_dir: str, vocab_dir: str) -> dict:
    """provenance is the manifest's provenance of a model trained here (train.py's train.json and
    vocab.py's vocab.json), for convert.py --provenance."""
    import json
    with open(os.path.join(train_dir, "train.json")) as f:
        tr = json.load(f)
    with open(os.path.join(vocab_dir, "vocab.json")) as f:
        vo = json.load(f)
    return {
        "data": "Sentiment Reasoning for Healthcare (arXiv 2407.21054) train split, "
                "SHARED/data/sentiment-reasoning/train.{vi,en,zh,de,fr}.jsonl (MIT); trained on the TRAIN side "
                "of the blocked split of models/reasoning/data.py",
        "command": "make -C models/transformer vocab random train models evaluate (train toolbox)",
        "seed": tr["args"]["seed"],
        "split": tr["split"],
        "vocabulary": {k: vo[k] for k in ("pieces", "pad_id", "eos_id", "unk_id", "bos_id", "byte_fallback",
                                          "character_coverage", "sentences")},
        "training": {"kind": tr["kind"], "args": {k: v for k, v in tr["args"].items() if k not in ("shared",)},
                     "n_train": tr["n_train"], "epochs": tr["epochs"], "seconds": tr["seconds"],
                     "from": "random weights (build.py), no pretraining"},
    }


if __name__ == "__main__":
    import json
    if len(sys.argv) == 4 and sys.argv[1] == "provenance":
        json.dump(provenance(sys.argv[2], sys.argv[3]), sys.stdout, indent=1)
    else:
        sys.exit("usage: common.py provenance TRAIN_DIR VOCAB_DIR")
