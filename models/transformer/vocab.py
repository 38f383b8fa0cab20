"""vocab.py trains the SentencePiece unigram vocabulary of the transformer models.

It reads the TRAIN side of the blocked split of models/reasoning/data.py (texts and rationales of
the five languages, plus the three label strings) and writes spiece.model / spiece.vocab with the
T5 conventions: pad=0, eos=1, unk=2, no bos; byte_fallback on, so characters outside the
vocabulary (emoji, rare CJK) become byte pieces instead of <unk>.

    python3 vocab.py --shared /work/shared --seed 20261201 --out build/vocab
"""

from __future__ import annotations

import argparse
import json
import os
import random

import sentencepiece as spm

import common


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=common.DEFAULT_SHARED)
    ap.add_argument("--seed", type=int, default=common.DEFAULT_SEED)
    ap.add_argument("--out", default=os.path.join(common.HERE, "build", "vocab"))
    ap.add_argument("--vocab-size", type=int, default=8000)
    ap.add_argument("--character-coverage", type=float, default=0.9995)
    args = ap.parse_args()

    train, _, info = common.split(args.shared, args.seed)
    lines = []
    for lang in common.LANGS:
        for r in train[lang]:
            lines.append(r["text"])
            lines.append(r["rationale"])
    lines += common.LABELS
    lines = [" ".join(x.split()) for x in lines if x.strip()]
    random.Random(args.seed).shuffle(lines)

    os.makedirs(args.out, exist_ok=True)
    # A fixed name: the trainer records its input path in the model, which stays byte-identical.
    corpus = os.path.join(args.out, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    try:
        spm.SentencePieceTrainer.train(
            input=corpus,
            model_prefix=os.path.join(args.out, "spiece"),
            model_type="unigram",
            vocab_size=args.vocab_size,
            character_coverage=args.character_coverage,
            pad_id=0, pad_piece="<pad>",
            eos_id=1, eos_piece="</s>",
            unk_id=2, unk_piece="<unk>",
            bos_id=-1,
            byte_fallback=True,
            normalization_rule_name="nmt_nfkc",
            split_digits=False,
            input_sentence_size=0,
            shuffle_input_sentence=False,
            num_threads=1,
            minloglevel=2,
        )
    finally:
        os.unlink(corpus)

    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.out, "spiece.model"))
    meta = {
        "pieces": sp.get_piece_size(),
        "pad_id": sp.pad_id(), "eos_id": sp.eos_id(), "unk_id": sp.unk_id(), "bos_id": sp.bos_id(),
        "byte_fallback": True,
        "character_coverage": args.character_coverage,
        "sentences": len(lines),
        "split": info,
        "seed": args.seed,
        "git_commit": common.git_commit(),
        "date": common.now(),
    }
    with open(os.path.join(args.out, "vocab.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"vocab: {meta['pieces']} pieces from {len(lines)} lines -> {args.out}/spiece.model")
    for s in ["negative: negative medical condition", "Tôi bị đau đầu 😷", "头痛 headache Kopfschmerzen"]:
        print(" ", s, "->", sp.encode(s, out_type=str))


if __name__ == "__main__":
    main()
