#!/usr/bin/env python3
"""Select the few-shot examples of the "llm" reasoning kind from the training data.

For each language, two utterances per label (negative, neutral, positive), interleaved in that
order, so that the first n examples of a language cover the labels evenly. Candidates are records
of 40 to 160 characters (20 to 60 in Chinese) whose rationale is one of the label's 50 most
frequent ones (the annotators' usual phrasing), taken from the last quarter of the file (a
contiguous block of ids) and picked with a fixed seed. The output is small on purpose: 30 lines.

Usage: python3 models/llm/fewshot.py /work/shared/data/sentiment-reasoning > models/llm/fewshot.jsonl
"""
import collections
import json
import random
import sys

LANGS = ["vi", "en", "zh", "de", "fr"]
LABELS = ["negative", "neutral", "positive"]
PER_LABEL = 2


def main(data):
    for lang in LANGS:
        recs = [json.loads(l) for l in open(f"{data}/train.{lang}.jsonl", encoding="utf-8")]
        common = {}
        for label in LABELS:
            c = collections.Counter(r["rationale"] for r in recs if r["label"] == label)
            common[label] = {r for r, _ in c.most_common(50)}
        lo, hi = (20, 60) if lang == "zh" else (40, 160)
        rng = random.Random(13)
        picked = {}
        tail = recs[len(recs) * 3 // 4:]
        for label in LABELS:
            cands = [r for r in tail if r["label"] == label
                     and lo <= len(r["text"]) <= hi and r["rationale"] in common[label]]
            picked[label] = rng.sample(cands, PER_LABEL)
        for k in range(PER_LABEL):
            for label in LABELS:
                r = picked[label][k]
                print(json.dumps({"id": r["id"], "lang": lang, "text": r["text"], "label": label,
                                  "rationale": r["rationale"]}, ensure_ascii=False))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
