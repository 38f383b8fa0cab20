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
