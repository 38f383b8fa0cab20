#!/usr/bin/env python3
"""train.py trains sentio's small whisper-architecture ASR model on the synthesised corpus.

Usage: train.py --data work/data --work work [--budget-minutes 100] [--seed 1]

Resumable: the state (model, optimiser, RNG, elapsed training time) is saved to WORK/last.pt every
few minutes and picked up on restart. The learning rate follows the elapsed training time within
the budget (warm-up, then cosine decay), so a run ends within its time budget on any machine.
Every --eval-minutes the model is decoded greedily on the validation split (voices never trained
on); the best checkpoint by validation CER so far is WORK/best.pt and is exported to --export as an
interim model. The released model is the final state (WORK/last.pt at the end of the budget),
exported by `make export`.
"""

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from scipy.signal import butter, resample_poly, sosfilt

from common import (
    LANG_TOKEN, LANGS, TOKEN_EOT, TOKEN_NOSP, TOKEN_NOT, TOKEN_SOT, TOKEN_TRANSCRIBE, LogMel, Vocab,
    Whisper, cer_normalize, edit_distance, greedy_decode, load_corpus,
)

# Sized for a shared two-core machine: with n_text_layer == 2 whisper.cpp treats the model as a
# "first release distilled" one and always decodes without timestamps, which is what it is trained for.
DIMS = dict(d=96, n_head=2, enc_layers=2, dec_layers=2, audio_ctx=300, text_ctx=256)
SR = 16000


def log(msg, path):
    line = time.strftime("%H:%M:%S ") + msg
    print(line, flush=True)
    with open(path, "a") as f:
        f.write(line + "\n")


class Split:
    def __init__(self, data, name):
        z = np.load(os.path.join(data, name + ".npz"))
        self.audio, self.offsets, self.lengths = z["audio"], z["offsets"], z["lengths"]
        with open(os.path.join(data, name + ".json"), encoding="utf-8") as f:
            self.meta = json.load(f)

    def clip(self, i):
        o, n = self.offsets[i], self.lengths[i]
        return self.audio[o : o + n].astype(np.float32) / 32768.0

    def __len__(self):
        return len(self.meta)


PHONE_SOS = butter(4, [300, 3400], btype="bandpass", fs=8000, output="sos")


def mulaw(x, mu=255.0):
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    q = np.round((y + 1) / 2 * mu) / mu * 2 - 1
    return np.sign(q) * ((1 + mu) ** np.abs(q) - 1) / mu


def alaw(x, A=87.6):
    ax = np.abs(x)
    y = np.where(ax < 1 / A, A * ax / (1 + np.log(A)), (1 + np.log(np.maximum(A * ax, 1e-9))) / (1 + np.log(A)))
    q = np.round(y * 127) / 127
    xr = np.where(q < 1 / (1 + np.log(A)), q * (1 + np.log(A)) / A, np.exp(q * (1 + np.log(A)) - 1) / A)
    return np.sign(x) * xr


def noise(n, seed, brown):
    """noise returns n samples of white Gaussian noise from seed, or brownish noise (its running
    sum with the slow drift removed) when brown is set."""
    x = np.random.default_rng(seed).standard_normal(n).astype(np.float32)
    if brown:
        x = np.cumsum(x)
        x -= np.convolve(x, np.ones(64) / 64, mode="same")
    return x


def augment(x, rng, max_len, p_noise=0.6, p_phone=0.4):
    """augment applies speed, gain, telephone-band / G.711, noise and offset augmentation."""
    if rng.random() < 0.5:
        f = rng.uniform(0.9, 1.12)
        n = int(len(x) / f)
        x = np.interp(np.arange(n) * f, np.arange(len(x)), x).astype(np.float32)
    x = x / (np.abs(x).max() + 1e-6) * rng.uniform(0.05, 0.9)
    room = max_len - len(x)
    lead = int(rng.uniform(0, min(0.4 * SR, max(0, room - 0.05 * SR)))) if room > 0 else 0
    tail = int(rng.uniform(0, min(0.5 * SR, max(0, room - lead - 0.02 * SR)))) if room > lead else 0
    x = np.concatenate([np.zeros(lead, np.float32), x, np.zeros(tail, np.float32)])
    if rng.random() < p_noise:
        snr = rng.uniform(8, 40)
        p = np.mean(x**2) + 1e-9
        seed = rng.randrange(1 << 30)
        nz = noise(len(x), seed, rng.random() < 0.5)
        nz *= math.sqrt(p / (np.mean(nz**2) + 1e-9) / 10 ** (snr / 10))
        x = x + nz
    if rng.random() < p_phone:  # telephone: 8 kHz, band-limited, G.711
        y = resample_poly(x, 1, 2)
        if rng.random() < 0.7:
            y = sosfilt(PHONE_SOS, y)
        y = np.clip(y, -1, 1)
        r = rng.random()
        if r < 0.6:
            y = mulaw(y)
        elif r < 0.8:
            y = alaw(y)
        x = resample_poly(y, 2, 1)
    x = np.clip(x, -1, 1)
    return x[:max_len].astype(np.float32)


def silence(n, rng):
    """silence returns n samples with no speech: digital zero, white noise or brown noise (the last
    made a sentence appear out of nothing before it was trained on), sometimes through the
    telephone band."""
    r = rng.random()
    if r < 0.2:
        return np.zeros(n, np.float32)
    nz = noise(n, rng.randrange(1 << 30), r < 0.6)
    x = (nz / (np.abs(nz).max() + 1e-6) * rng.uniform(1e-3, 0.5)).astype(np.float32)
    if rng.random() < 0.3:
        x = resample_poly(mulaw(np.clip(resample_poly(x, 1, 2), -1, 1)), 2, 1).astype(np.float32)[:n]
    return x


def make_batch(split, idxs, vocab, rng, max_len, train=True, p_noise=0.6, p_phone=0.4):
    c = vocab.c
    audios, seqs, ignores, ctc_targets, silents = [], [], [], [], []
    for i in idxs:
        m = split.meta[i]
        x = split.clip(i)
        silent = train and rng.random() < 0.03
        if train:
            x = augment(x, rng, max_len, p_noise, p_phone)
            if silent:
                x = silence(len(x), rng)
        lang = m["lang"] if not silent else rng.choice(LANGS)
        text = vocab.encode_text(m["text"])
        prompt = [c(TOKEN_SOT), c(LANG_TOKEN[lang]), c(TOKEN_TRANSCRIBE), c(TOKEN_NOT)]
        if silent:
            # Silence predicts <|nospeech|> both right after <|startoftranscript|> (where OpenAI's
            # whisper reads the no-speech probability, in place of the language) and after the
            # whole prompt (where whisper.cpp 1.9.5 appeared to read it; see MODEL_CARD.md).
            seq = prompt + [c(TOKEN_NOSP)]
            ign = {1, 2}  # targets: transcribe, notimestamps (the prompt); 0 becomes nosp below
            ctc_targets.append([])
        else:
            seq = prompt + text + [c(TOKEN_EOT)]
            ign = {2}  # the target after <|transcribe|> is the prompt's <|notimestamps|>
            ctc_targets.append(text)
        audios.append(x)
        seqs.append(seq)
        ignores.append(ign)
        silents.append(silent)
    L = max(len(s) for s in seqs) - 1
    tok = torch.full((len(seqs), L), c(TOKEN_EOT), dtype=torch.long)
    tgt = torch.full((len(seqs), L), -100, dtype=torch.long)
    for b, (s, ign, silent) in enumerate(zip(seqs, ignores, silents)):
        tok[b, : len(s) - 1] = torch.tensor(s[:-1])
        t = torch.tensor(s[1:])
        for j in ign:
            t[j] = -100
        tgt[b, : len(s) - 1] = t
        if silent:  # see above
            tgt[b, 0] = c(TOKEN_NOSP)
    A = torch.zeros(len(audios), max_len)
    for b, x in enumerate(audios):
        A[b, : len(x)] = torch.from_numpy(x[:max_len])
    return A, tok, tgt, ctc_targets


def lr_at(frac, peak, hold=0.15, floor=0.05):
    """lr_at: the peak rate for the first `hold` of the time budget, then cosine decay to floor*peak."""
    if frac < hold:
        return peak
    p = min(1.0, (frac - hold) / (1 - hold))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


def evaluate(model, vocab, split, mel_fn, n=None, log_path=None):
    model.eval()
    idxs = list(range(len(split)))
    if n:
        idxs = idxs[:: max(1, len(idxs) // n)][:n]
    errs = {l: [0, 0] for l in LANGS}
    lang_ok = 0
    with torch.no_grad():
        for i in idxs:
            m = split.meta[i]
            x = torch.from_numpy(split.clip(i))[None]
            mel = mel_fn(x)[0]
            lang, _, text, _ = greedy_decode(model, vocab, mel)
            lang_ok += lang == m["lang"]
            ref, hyp = cer_normalize(m["text"]), cer_normalize(text)
            errs[m["lang"]][0] += edit_distance(ref, hyp)
            errs[m["lang"]][1] += len(ref)
    model.train()
    cer = {l: e / max(1, n_) for l, (e, n_) in errs.items()}
    mean = sum(cer.values()) / len(cer)
    return mean, cer, lang_ok / len(idxs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="work/data")
    ap.add_argument("--work", default="work")
    ap.add_argument("--export", default="ggml-sentio-small.bin")
    ap.add_argument("--budget-minutes", type=float, default=100)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup-steps", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-minutes", type=float, default=8)
    ap.add_argument("--eval-clips", type=int, default=60)
    ap.add_argument("--ctc-weight", type=float, default=0.5)
    ap.add_argument("--train-split", default="train")
    ap.add_argument("--p-noise", type=float, default=0.35, help="share of clips with added noise (SNR 8-40 dB)")
    ap.add_argument("--p-phone", type=float, default=0.5, help="share of clips through 8 kHz telephone band / G.711")
    ap.add_argument("--corrupt", type=float, default=0.1, help="share of the decoder's input text tokens replaced by a random character (targets unchanged), so the decoder must listen instead of completing a memorised sentence")
    ap.add_argument("--bucket", type=int, default=150, help="draw each batch among the clips within this many ranks of a random clip in length order (0: uniform)")
    ap.add_argument("--crop-prob", type=float, default=0.8, help="share of steps trained on the cropped window")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.work, exist_ok=True)
    log_path = os.path.join(a.work, "train.log")

    corpus, _ = load_corpus()
    vocab = Vocab.build([s for l in LANGS for s in corpus[l]], n_ts=0)
    dims = dict(DIMS, n_chars=vocab.n_chars)
    train, val = Split(a.data, a.train_split), Split(a.data, "val")
    max_len = dims["audio_ctx"] * 2 * 160
    mel_fn = LogMel(dims["audio_ctx"] * 2)

    torch.manual_seed(a.seed)
    model = Whisper(dims, vocab.size)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.98), weight_decay=0.01)
    rng = random.Random(a.seed)
    state = {"step": 0, "elapsed": 0.0, "best_cer": float("inf"), "last_eval": 0.0}
    last = os.path.join(a.work, "last.pt")
    if os.path.exists(last):
        ck = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        rng.setstate(ck["rng"])
        torch.set_rng_state(ck["torch_rng"])
        log(f"resumed at step {state['step']}, {state['elapsed'] / 60:.1f} min trained", log_path)
    else:
        log(f"new run: dims {dims}, vocab {vocab.size} (chars {vocab.n_chars}), params {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M, train clips {len(train)}, seed {a.seed}", log_path)

    def save(path, extra=None):
        ck = {"model": model.state_dict(), "dims": dims, "vocab": vocab.to_json(), "state": dict(state)}
        if extra:
            ck.update(extra)
        torch.save(ck, path + ".tmp")
        os.replace(path + ".tmp", path)

    by_len = np.argsort(train.lengths, kind="stable")
    budget = a.budget_minutes * 60
    model.train()
    last_save = time.time()
    ema = None
    while state["elapsed"] < budget:
        t0 = time.time()
        frac = state["elapsed"] / budget
        lr = lr_at(frac, a.lr) * min(1.0, (state["step"] + 1) / a.warmup_steps)
        for g in opt.param_groups:
            g["lr"] = lr
        if a.bucket > 0:
            # A random clip and batch-mates of similar length: the cropped window then holds little
            # padding (about a third less encoder work per step than uniformly drawn batches).
            r = rng.randrange(len(train))
            lo, hi = max(0, r - a.bucket), min(len(train), r + a.bucket + 1)
            idxs = [int(by_len[rng.randrange(lo, hi)]) for _ in range(a.batch)]
        else:
            idxs = [rng.randrange(len(train)) for _ in range(a.batch)]
        A, tok, tgt, ctc_t = make_batch(train, idxs, vocab, rng, max_len, True, a.p_noise, a.p_phone)
        if a.corrupt > 0:
            # Positions 4.. of the input are text (after sot, lang, transcribe, notimestamps).
            noise = torch.rand(tok.shape) < a.corrupt
            noise[:, :4] = False
            noise &= tok < vocab.n_chars
            tok = torch.where(noise, torch.randint(0, vocab.n_chars, tok.shape), tok)
        n_frames = mel_fn.n_frames
        if rng.random() < a.crop_prob:
            # Most steps see only the frames up to the longest clip in the batch (plus a random
            # margin of digital-zero padding): the rest of whisper.cpp's window is constant
            # padding, and skipping it halves the encoder's cost. The other steps use the full
            # window, exactly as whisper.cpp feeds it.
            longest = max(int(np.nonzero(A[b].numpy())[0][-1]) if A[b].any() else 0 for b in range(A.shape[0])) // 160 + 1
            n_frames = min(n_frames, longest + rng.randint(8, 100))
            n_frames += n_frames % 2
        mel = mel_fn(A, n_frames)
        logits, xa = model(mel, tok)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100, label_smoothing=0.05)
        loss = ce
        if a.ctc_weight > 0:
            lp = F.log_softmax(model.ctc(xa), -1).transpose(0, 1)
            flat = torch.tensor([t for s in ctc_t for t in s], dtype=torch.long)
            tl = torch.tensor([len(s) for s in ctc_t], dtype=torch.long)
            il = torch.full((len(ctc_t),), lp.shape[0], dtype=torch.long)
            ctc = F.ctc_loss(lp, flat, il, tl, blank=vocab.n_chars, zero_infinity=True)
            loss = loss + a.ctc_weight * ctc
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        model.decoder.pin()
        state["step"] += 1
        state["elapsed"] += time.time() - t0
        ema = ce.item() if ema is None else 0.95 * ema + 0.05 * ce.item()
        if state["step"] % 10 == 0:
            log(f"step {state['step']} min {state['elapsed'] / 60:.1f} lr {lr:.2e} ce {ema:.3f} ctc {ctc.item() if a.ctc_weight > 0 else 0:.3f} {time.time() - t0:.1f}s/step", log_path)
        if time.time() - last_save > 180:
            save(last, {"opt": opt.state_dict(), "rng": rng.getstate(), "torch_rng": torch.get_rng_state()})
            last_save = time.time()
        if state["elapsed"] - state["last_eval"] > a.eval_minutes * 60 or state["elapsed"] >= budget:
            state["last_eval"] = state["elapsed"]
            te = time.time()
            mean, cer, lacc = evaluate(model, vocab, val, mel_fn, a.eval_clips)
            log(f"eval step {state['step']}: val CER {mean:.3f} " + " ".join(f"{l}={v:.3f}" for l, v in cer.items()) + f" lang {lacc:.3f} ({time.time() - te:.0f}s)", log_path)
            if mean < state["best_cer"]:
                state["best_cer"] = mean
                save(os.path.join(a.work, "best.pt"), {"val": {"cer": cer, "lang_acc": lacc}})
                from export_ggml import write_ggml

                write_ggml(model, vocab, dims, a.export + ".tmp", "f16")
                os.replace(a.export + ".tmp", a.export)
                log(f"new best, exported {a.export}", log_path)
            save(last, {"opt": opt.state_dict(), "rng": rng.getstate(), "torch_rng": torch.get_rng_state()})
            last_save = time.time()
    log(f"done: {state['step']} steps, {state['elapsed'] / 60:.1f} min, best val CER {state['best_cer']:.3f}", log_path)


if __name__ == "__main__":
    main()
