"""reference.py is the Python reference of a sentio transformer model directory: what the Go
runtime must compute, record by record (parity fixtures).

    python3 reference.py MODEL_DIR FIXTURE.jsonl.gz [--n 1000] [--checkpoint HF_DIR]

It reads 1,000 texts of the blocked dev split (200 per language; models/reasoning/data.py) plus edge
cases (a text longer than max_input_tokens, emoji, mixed scripts, combining marks, tabs/newlines),
runs them with onnxruntime on MODEL_DIR's graphs exactly as the manifest says and writes gzip JSON
lines:

    {"text", "lang", "ids", "label", "probs"}                    encoder-classifier
    {"text", "lang", "ids", "label", "probs", "label_logprobs",
     "rationale", "rationale_ids"}                                seq2seq
    {"text": "", "lang": "en", "error": "empty text"}            the error case (no model output)

ids: the input ids (prompt applied, truncated to max_input_tokens, special tokens included).
probs: in the manifest's labels order. encoder-classifier: softmax of the logits (float64).
seq2seq: label_logprobs[l] = sum over k of log_softmax(decoder logits)[label_ids[l][k]] with the
decoder fed [decoder_start_id] + label_ids[l] (teacher-forced); probs = softmax(label_logprobs);
label = argmax (first on ties); then greedy decoding after [decoder_start_id] + label_ids[label]
(argmax, first index on ties) until eos_id or max_output_tokens generated ids (eos counted);
rationale_ids exclude eos; rationale = sentencepiece decode of rationale_ids (spiece.model), or
tokenizer.json decode with special tokens skipped when there is no spiece.model.

With the PyTorch checkpoint (--checkpoint, default the manifest's provenance.checkpoint when it
exists) it also checks, on every record, that the PyTorch probabilities are within 1e-4 and that
transformers' generate(decoder_input_ids=[[start] + label_ids], num_beams=1, do_sample=False,
max_new_tokens=max_output_tokens) gives the same rationale ids; it exits non-zero otherwise.
FIXTURE.meta.json gets the model directory's file hashes and the figures of the run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time

import numpy as np

import common
import convert
import filehash


def edge_cases(max_in):
    long_vi = ("Bệnh nhân bị đau đầu, chóng mặt và buồn nôn kéo dài nhiều ngày, bác sĩ khuyên nên đi khám "
               "ngay để kiểm tra huyết áp và đường huyết. ")
    return [
        {"text": long_vi * (max_in // 10 + 4), "lang": "vi", "case": "longer than max_input_tokens"},
        {"text": "The patient said the pain is much worse now. " * (max_in // 8 + 4), "lang": "en",
         "case": "longer than max_input_tokens"},
        {"text": "Tôi đau quá 😭😷🤒 nhưng bác sĩ rất tốt 👍", "lang": "vi", "case": "emoji"},
        {"text": "I feel great today 😊🎉", "lang": "en", "case": "emoji"},
        {"text": "Bác sĩ said 头痛 sehr schlimm, c'est grave", "lang": "en", "case": "mixed scripts"},
        {"text": "医生说 MRI 的结果 normal，我放心了", "lang": "zh", "case": "mixed scripts"},
        {"text": "Cafe\u0301 cre\u0300me bru\u0302le\u0301e, tie\u0302\u0301ng Vie\u0323\u0302t", "lang": "fr",
         "case": "combining marks"},
        {"text": "  Die   Schmerzen\tsind\nweg.  ", "lang": "de", "case": "whitespace"},
        {"text": "ｆｕｌｌ　ｗｉｄｔｈ　ＡＢＣ　１２３", "lang": "zh", "case": "full width (NFKC)"},
        {"text": "ok", "lang": "en", "case": "one word"},
        {"text": "", "lang": "en", "case": "empty", "error": "empty text"},
    ]


def dev_texts(shared, seed, n):
    _, dev, _ = common.split(shared, seed)
    per = n // len(common.LANGS)
    rng = np.random.default_rng(seed)
    out = []
    for lang in common.LANGS:
        recs = dev[lang]
        idx = sorted(rng.choice(len(recs), size=min(per, len(recs)), replace=False).tolist())
        out += [{"text": recs[i]["text"], "lang": lang, "id": recs[i]["id"], "gold": recs[i]["label"],
                 "gold_rationale": recs[i]["rationale"]} for i in idx]
    return out


def log_softmax(x):
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def softmax(x):
    return np.exp(log_softmax(x))


class Runner:
    """Runner drives the graphs of a model directory the way the contract says."""

    def __init__(self, model_dir):
        self.dir = model_dir
        with open(os.path.join(model_dir, "model.json"), encoding="utf-8") as f:
            self.m = json.load(f)
        self.tr = self.m["transformer"]
        self.kind = self.m["kind"]
        onnx = self.tr["onnx"]
        if self.kind == "encoder-classifier":
            self.cls = convert.session(os.path.join(model_dir, onnx["model"]))
        else:
            self.enc = convert.session(os.path.join(model_dir, onnx["encoder"]))
            self.dec = convert.session(os.path.join(model_dir, onnx["decoder"]))
            self.dwp = convert.session(os.path.join(model_dir, onnx["decoder_with_past"]))
            self.label_ids = self.tr["output"]["label_ids"]
            self.sp = None
            if os.path.exists(os.path.join(model_dir, "spiece.model")):
                import sentencepiece as spm
                self.sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "spiece.model"))
            else:
                from tokenizers import Tokenizer
                self.tj = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))

    def ids(self, text, lang):
        if self.kind == "seq2seq":
            text = self.tr.get("prompt", "{text}").format(text=text, lang=lang)
        return convert.runtime_ids(self.tr["tokenizer"], self.dir, text, self.tr["max_input_tokens"])

    def decode(self, ids):
        if self.sp is not None:
            return self.sp.decode(ids)
        return self.tj.decode(ids, skip_special_tokens=True)

    def classify(self, rows):
        ids, mask = convert.pad_batch(rows, self.tr["pad_id"])
        logits = self.cls.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]
        return softmax(logits)

    def reason(self, ids):
        tr = self.tr
        n_layers, start, eos, n_out = tr["num_layers"], tr["decoder_start_id"], tr["eos_id"], tr["max_output_tokens"]
        x = np.array([ids], dtype=np.int64)
        m = np.ones_like(x)
        hs = self.enc.run(["last_hidden_state"], {"input_ids": x, "attention_mask": m})[0]
        scores, state = [], {}
        for lab in self.m["labels"]:
            seq = [start] + self.label_ids[lab]
            o = self.dec.run(None, {"input_ids": np.array([seq], dtype=np.int64), "encoder_attention_mask": m,
                                    "encoder_hidden_states": hs})
            lp = log_softmax(o[0][0])
            scores.append(float(sum(lp[k, t] for k, t in enumerate(self.label_ids[lab]))))
            state[lab] = (o[0][0, -1], o[1:])
        probs = softmax(np.array(scores))
        label = self.m["labels"][int(np.argmax(probs))]
        logits, pres = state[label]
        enc_kv = [(pres[4 * i + 2], pres[4 * i + 3]) for i in range(n_layers)]
        dec_kv = [(pres[4 * i], pres[4 * i + 1]) for i in range(n_layers)]
        out = []
        while len(out) < n_out:
            nxt = int(np.argmax(logits))
            out.append(nxt)
            if nxt == eos or len(out) >= n_out:
                break
            feed = {"input_ids": np.array([[nxt]], dtype=np.int64), "encoder_attention_mask": m}
            for i in range(n_layers):
                feed[f"past_key_values.{i}.decoder.key"], feed[f"past_key_values.{i}.decoder.value"] = dec_kv[i]
                feed[f"past_key_values.{i}.encoder.key"], feed[f"past_key_values.{i}.encoder.value"] = enc_kv[i]
            o = self.dwp.run(None, feed)
            logits = o[0][0, -1]
            dec_kv = [(o[1 + 2 * i], o[2 + 2 * i]) for i in range(n_layers)]
        rat = [t for t in out if t != eos]
        return label, probs, scores, rat


def torch_check(runner, ckpt, records):
    """torch_check compares every record with the PyTorch model (probabilities, greedy rationale)."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoModelForSequenceClassification
    tr = runner.tr
    worst, same = 0.0, 0
    with torch.no_grad():
        if runner.kind == "encoder-classifier":
            model = AutoModelForSequenceClassification.from_pretrained(ckpt).eval()
            for r in records:
                x = torch.tensor([r["ids"]])
                p = softmax(model(input_ids=x, attention_mask=torch.ones_like(x)).logits.numpy())[0]
                worst = max(worst, float(np.abs(p - np.array(r["probs"])).max()))
                same += int(runner.m["labels"][int(np.argmax(p))] == r["label"])
        else:
            model = AutoModelForSeq2SeqLM.from_pretrained(ckpt).eval()
            start, eos = tr["decoder_start_id"], tr["eos_id"]
            for r in records:
                x = torch.tensor([r["ids"]])
                m = torch.ones_like(x)
                enc = model.get_encoder()(input_ids=x, attention_mask=m)
                scores = []
                for lab in runner.m["labels"]:
                    seq = [start] + runner.label_ids[lab]
                    lg = model(encoder_outputs=enc, attention_mask=m, decoder_input_ids=torch.tensor([seq])).logits
                    lp = log_softmax(lg[0].numpy())
                    scores.append(float(sum(lp[k, t] for k, t in enumerate(runner.label_ids[lab]))))
                p = softmax(np.array(scores))
                worst = max(worst, float(np.abs(p - np.array(r["probs"])).max()))
                prefix = [start] + runner.label_ids[r["label"]]
                g = model.generate(input_ids=x, attention_mask=m, decoder_input_ids=torch.tensor([prefix]),
                                   num_beams=1, do_sample=False, max_new_tokens=tr["max_output_tokens"])[0].tolist()
                gen = [t for t in g[len(prefix):] if t != eos]
                if gen != r["rationale_ids"]:
                    convert.fail(f"greedy rationale of {r['text'][:60]!r}: onnxruntime {r['rationale_ids']} but "
                                 f"transformers generate {gen}")
                same += int(runner.m["labels"][int(np.argmax(p))] == r["label"])
    if worst > 1e-4 or same != len(records):
        convert.fail(f"PyTorch vs onnxruntime: probabilities differ by up to {worst:.3g}, {len(records) - same} labels differ")
    return {"records": len(records), "probs_max_abs_diff": worst, "labels": "identical",
            "greedy_rationale": "identical to transformers generate" if runner.kind == "seq2seq" else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("fixture")
    ap.add_argument("--n", type=int, default=1000, help="dev texts (split evenly over the five languages)")
    ap.add_argument("--shared", default=common.DEFAULT_SHARED)
    ap.add_argument("--seed", type=int, default=common.DEFAULT_SEED)
    ap.add_argument("--checkpoint", default="", help="the PyTorch checkpoint for the cross-check ('-' to skip)")
    args = ap.parse_args()

    t0 = time.time()
    run = Runner(args.model_dir)
    items = dev_texts(args.shared, args.seed, args.n) + edge_cases(run.tr["max_input_tokens"])
    recs = []
    ok = [it for it in items if "error" not in it]
    rows = [run.ids(it["text"], it["lang"]) for it in ok]
    t_model = time.time()
    if run.kind == "encoder-classifier":
        probs = np.concatenate([run.classify(rows[i:i + 32]) for i in range(0, len(rows), 32)])
    for k, (it, ids) in enumerate(zip(ok, rows)):
        r = {"text": it["text"], "lang": it["lang"], "ids": ids}
        if run.kind == "encoder-classifier":
            p = probs[k]
            r["label"] = run.m["labels"][int(np.argmax(p))]
            r["probs"] = [float(v) for v in p]
        else:
            label, p, scores, rat = run.reason(ids)
            r.update({"label": label, "probs": [float(v) for v in p], "label_logprobs": scores,
                      "rationale": run.decode(rat), "rationale_ids": rat})
        recs.append((it, r))
    t_model = time.time() - t_model
    out = [r for _, r in recs] + [{"text": it["text"], "lang": it["lang"], "error": it["error"]}
                                  for it in items if "error" in it]
    os.makedirs(os.path.dirname(os.path.abspath(args.fixture)), exist_ok=True)
    with gzip.open(args.fixture, "wt", encoding="utf-8", compresslevel=9) as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    ckpt = args.checkpoint or run.m.get("provenance", {}).get("checkpoint", "")
    check = None
    if ckpt and ckpt != "-" and os.path.exists(os.path.join(ckpt, "config.json")):
        check = torch_check(run, ckpt, [r for _, r in recs])
    dev = [(it, r) for it, r in recs if "gold" in it]
    meta = {"model_dir": os.path.abspath(args.model_dir), "kind": run.kind, "version": run.m["version"],
            "files": {f: filehash.sha256(os.path.join(args.model_dir, f)) for f in sorted(os.listdir(args.model_dir))
                      if os.path.isfile(os.path.join(args.model_dir, f))},
            "records": len(out), "dev_records": len(dev), "edge_cases": len(items) - len(dev),
            "seconds_onnxruntime": round(t_model, 2), "torch_check": check,
            "dev_accuracy_of_these_records": round(float(np.mean([it["gold"] == r["label"] for it, r in dev])), 4),
            "split": "blocked dev split of models/reasoning/data.py, seed %d" % args.seed,
            "seconds": round(time.time() - t0, 1)}
    with open(args.fixture.replace(".jsonl.gz", "") + ".meta.json", "w") as f:
        json.dump(meta, f, indent=1)
    print(f"reference: {len(out)} records -> {args.fixture} ({os.path.getsize(args.fixture)} bytes); "
          f"torch check: {json.dumps(check)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
