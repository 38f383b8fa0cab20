"""filehash: the SHA-256 of a file, which convert.py (checkpoint files) and reference.py (model
files) record in what they write. No dependencies, so that convert.py stays free of the training
code's imports."""

from __future__ import annotations

import hashlib


def sha256(path: str) -> str:
    """sha256 returns the hex SHA-256 of the file at path, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
