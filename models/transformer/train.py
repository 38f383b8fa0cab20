"""train.py trains one of the models of build.py from scratch on the blocked train split (five
languages) and saves it as a Hugging Face checkpoint (save_pretrained), which convert.py turns into
a sentio model directory.

    python3 train.py --kind cls --init build/hf-init-cls --out build/train-cls
    python3 train.py --kind s2s --init build/hf-init-s2s --out build/train-s2s

- cls: XLMRobertaForSequenceClassification, cross-entropy (class-balanced weights with --balanced);
- s2s: T5ForConditionalGeneration on "<label><separator><rationale></s>" targets, the input being
  the prompt "{text}".

Resumable: after every epoch OUT/last/ holds the model (save_pretrained) and OUT/state.pt the
optimizer, scheduler, epoch and RNG state; a new run with the same OUT continues from there.
OUT/final/ is the checkpoint after the last epoch, OUT/train.json what was done (loss per epoch,
dev figures per epoch, seconds).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import time

import numpy as np
import torch
from sklearn.metrics import f1_score
from transformers import AutoModelForSeq2SeqLM, AutoModelForSequenceClassification, AutoTokenizer

import common


def batches(n_items, lengths, batch_size, rng):
    """batches are length-bucketed: items sorted by length in chunks of 50 batches, shuffled."""
    order = list(range(n_items))
    rng.shuffle(order)
    chunk = batch_size * 50
    out = []
    for c in range(0, n_items, chunk):
        part = sorted(order[c:c + chunk], key=lambda i: lengths[i])
        out += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(out)
    return out


def pad(rows, value):
    n = max(len(r) for r in rows)
    x = torch.full((len(rows), n), value, dtype=torch.long)
    m = torch.zeros((len(rows), n), dtype=torch.long)
    for i, r in enumerate(rows):
        x[i, :len(r)] = torch.tensor(r)
        m[i, :len(r)] = 1
    return x, m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=["cls", "s2s"], required=True)
    ap.add_argument("--init", required=True, help="Hugging Face checkpoint to start from (build.py)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--shared", default=common.DEFAULT_SHARED)
    ap.add_argument("--seed", type=int, default=common.DEFAULT_SEED)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--warmup", type=float, default=0.05, help="share of the steps with linear warm-up")
    ap.add_argument("--max-train-tokens", type=int, default=128, help="training inputs are cut to this many ids")
    ap.add_argument("--balanced", action="store_true", help="cls: class-balanced cross-entropy")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prompt", default="{text}")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    train, dev, info = common.split(args.shared, args.seed)
    tr = [r for l in common.LANGS for r in train[l]]
    dv = [r for l in common.LANGS for r in dev[l]]
    last = os.path.join(args.out, "last")
    state_path = os.path.join(args.out, "state.pt")
    resume = os.path.exists(state_path) and os.path.exists(os.path.join(last, "config.json"))
    src = last if resume else args.init
    tok = AutoTokenizer.from_pretrained(args.init)
    if args.kind == "cls":
        model = AutoModelForSequenceClassification.from_pretrained(src)
    else:
        model = AutoModelForSeq2SeqLM.from_pretrained(src)

    def enc(texts, n):
        return tok([args.prompt.format(text=t, lang="") if args.kind == "s2s" else t for t in texts],
                   truncation=True, max_length=n)["input_ids"]

    x_tr = enc([r["text"] for r in tr], args.max_train_tokens)
    x_dv = enc([r["text"] for r in dv], args.max_train_tokens)
    lab = {l: i for i, l in enumerate(common.LABELS)}
    y_tr = [lab[r["label"]] for r in tr]
    y_dv = [lab[r["label"]] for r in dv]
    if args.kind == "s2s":
        t_tr = tok([common.target(r) for r in tr], truncation=True, max_length=64)["input_ids"]
        t_dv = tok([common.target(r) for r in dv], truncation=True, max_length=64)["input_ids"]
    weight = None
    if args.kind == "cls" and args.balanced:
        counts = np.bincount(y_tr, minlength=3)
        weight = torch.tensor(len(y_tr) / (3 * counts), dtype=torch.float32)

    steps_per_epoch = math.ceil(len(tr) / args.batch_size)
    total = steps_per_epoch * args.epochs
    warm = max(1, int(total * args.warmup))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    log = {"kind": args.kind, "args": vars(args), "split": info, "n_train": len(tr), "n_dev": len(dv),
           "epochs": [], "seconds": 0.0}
    epoch0 = 0
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    if resume:
        st = torch.load(state_path, weights_only=False)
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        epoch0 = st["epoch"]
        rng.setstate(st["py_rng"])
        torch.set_rng_state(st["torch_rng"])
        log = st["log"]
        print(f"train: resuming {args.kind} after epoch {epoch0}", flush=True)

    for epoch in range(epoch0, args.epochs):
        t0 = time.time()
        model.train()
        losses = []
        for b in batches(len(tr), [len(x) for x in x_tr], args.batch_size, rng):
            x, m = pad([x_tr[i] for i in b], tok.pad_token_id)
            if args.kind == "cls":
                logits = model(input_ids=x, attention_mask=m).logits
                loss = torch.nn.functional.cross_entropy(logits, torch.tensor([y_tr[i] for i in b]), weight=weight)
            else:
                t, tm = pad([t_tr[i] for i in b], tok.pad_token_id)
                t[tm == 0] = -100
                loss = model(input_ids=x, attention_mask=m, labels=t).loss
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(float(loss))
        ev = evaluate(model, tok, args.kind, x_dv, y_dv, t_dv if args.kind == "s2s" else None)
        rec = {"epoch": epoch + 1, "train_loss": round(float(np.mean(losses)), 4), **ev,
               "seconds": round(time.time() - t0, 1)}
        log["epochs"].append(rec)
        log["seconds"] = round(log["seconds"] + rec["seconds"], 1)
        print("train:", json.dumps(rec), flush=True)
        model.save_pretrained(last)
        tok.save_pretrained(last)
        shutil.copyfile(os.path.join(args.init, "spiece.model"), os.path.join(last, "spiece.model"))
        torch.save({"opt": opt.state_dict(), "sched": sched.state_dict(), "epoch": epoch + 1,
                    "py_rng": rng.getstate(), "torch_rng": torch.get_rng_state(), "log": log}, state_path)

    final = os.path.join(args.out, "final")
    if os.path.exists(final):
        shutil.rmtree(final)
    shutil.copytree(last, final)
    with open(os.path.join(args.out, "train.json"), "w") as f:
        json.dump(log, f, indent=1)
    print(f"train: {args.kind} done in {log['seconds']} s -> {final}", flush=True)


@torch.no_grad()
def evaluate(model, tok, kind, x_dv, y_dv, t_dv):
    """evaluate: dev loss, and for cls accuracy / macro-F1 over all five languages together."""
    model.eval()
    losses, preds = [], []
    for i in range(0, len(x_dv), 64):
        x, m = pad(x_dv[i:i + 64], tok.pad_token_id)
        if kind == "cls":
            logits = model(input_ids=x, attention_mask=m).logits
            losses.append(float(torch.nn.functional.cross_entropy(logits, torch.tensor(y_dv[i:i + 64]))) * len(x))
            preds += logits.argmax(-1).tolist()
        else:
            t, tm = pad(t_dv[i:i + 64], tok.pad_token_id)
            t[tm == 0] = -100
            losses.append(float(model(input_ids=x, attention_mask=m, labels=t).loss) * len(x))
    out = {"dev_loss": round(sum(losses) / len(x_dv), 4)}
    if kind == "cls":
        out["dev_accuracy"] = round(float(np.mean(np.array(preds) == np.array(y_dv))), 4)
        out["dev_macro_f1"] = round(float(f1_score(y_dv, preds, average="macro")), 4)
    return out


if __name__ == "__main__":
    main()
