"""beam_fixtures.py writes the reference of the Go runtime's beam search (reasoning's
TestSeq2SeqBeamParity): Hugging Face transformers' own beam search (generate with num_beams,
length_penalty 1.0 and early_stopping False, its defaults) on a seq2seq checkpoint, continuing
each of the three label prefixes ([decoder_start] + the manifest's label_ids) of a few texts in
the five languages.

Random weights rarely generate the end of sequence, which leaves the search's ending and early
stopping untested; so each prefix is also continued with the end of sequence taken to be the
first or the second most likely id after the prefix, or the first id generated with the true end
of sequence (generate's eos_token_id), which ends hypotheses early and at different steps.

Each line (gzip JSON): text, ids (the encoder input, as the runtime tokenizer gives it), label,
beams, eos, max_new, generated (the ids after the prefix, the end of sequence left out), and
decoder_sha256 (of the model directory's decoder graph: the Go test skips fixtures made for
another model).

    SENTIO_TOOLBOX_PROFILE=train toolbox/run python3 reasoning/testdata/transformer/beam_fixtures.py \
        --checkpoint models/transformer/build/hf-random-s2s --model-dir models/transformer/build/random-s2s \
        --out reasoning/testdata/transformer/beam.jsonl.gz
"""
import argparse
import gzip
import hashlib
import json
import os

import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

TEXTS = [
    "The patient feels much better today and the pain is gone.",
    "ok",
    "Bệnh nhân cảm thấy khỏe hơn nhiều sau khi điều trị, rất vui.",
    "病人今天感觉好多了，疼痛也消失了。",
    "Die Behandlung hat leider nicht geholfen.",
    "Le patient se sent beaucoup mieux aujourd'hui, la douleur a disparu 😊",
    "negative medical condition",
    "If there is a sudden stroke in the brain, it is related to the formation of blood clots",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--beams", type=int, action="append")
    ap.add_argument("--max-new", type=int, default=0, help="default: the manifest's max_output_tokens")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(os.path.join(args.model_dir, "model.json"), encoding="utf-8") as f:
        tr = json.load(f)["transformer"]
    tok = AutoTokenizer.from_pretrained(args.checkpoint)
    model = AutoModelForSeq2SeqLM.from_pretrained(args.checkpoint).eval()
    start, eos = tr["decoder_start_id"], tr["eos_id"]
    max_new = args.max_new or tr["max_output_tokens"]
    prompt = tr.get("prompt") or "{text}"
    with open(os.path.join(args.model_dir, tr["onnx"]["decoder"]), "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    n = 0
    with gzip.open(args.out, "wt", encoding="utf-8") as out:
        for text in TEXTS:
            ids = tok(prompt.replace("{text}", text).replace("{lang}", "en"), truncation=True,
                      max_length=tr["max_input_tokens"])["input_ids"]
            x = torch.tensor([ids])
            for label, lids in tr["output"]["label_ids"].items():
                prefix = [start] + lids
                with torch.no_grad():
                    first = model(input_ids=x, attention_mask=torch.ones_like(x),
                                  decoder_input_ids=torch.tensor([prefix])).logits[0, -1]
                top2 = torch.topk(first, 2).indices.tolist()
                for beams in args.beams or [3]:
                    choices = [eos] + top2
                    for e in choices:
                        with torch.no_grad():
                            seq = model.generate(input_ids=x, attention_mask=torch.ones_like(x),
                                                 decoder_input_ids=torch.tensor([prefix]), num_beams=beams,
                                                 do_sample=False, length_penalty=1.0, early_stopping=False,
                                                 max_new_tokens=max_new, eos_token_id=e, pad_token_id=tr["pad_id"])[0].tolist()
                        gen = seq[len(prefix):]
                        if e in gen:
                            gen = gen[:gen.index(e)]
                        out.write(json.dumps({"text": text, "ids": ids, "label": label, "beams": beams, "eos": e,
                                              "max_new": max_new, "generated": gen,
                                              "decoder_sha256": sha}, ensure_ascii=False) + "\n")
                        n += 1
                        if e == eos and gen and gen[0] not in choices:
                            # The id the search repeats when it cannot end: as the end of sequence,
                            # it ends the likeliest hypotheses after a step.
                            choices.append(gen[0])
    print(f"beam_fixtures: {n} records -> {args.out}")


if __name__ == "__main__":
    main()
