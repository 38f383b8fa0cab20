#!/usr/bin/env python3
"""synth.py renders the corpus with espeak-ng into training and test sets.

Usage: synth.py OUTDIR [--renders N] [--seed S]

Splits (voices are espeak-ng language voices combined with +variants; speeds in words per minute):
  train     corpus sentences, TRAIN_VARIANTS x TRAIN_SPEEDS (random pitch and word gap)
  val       corpus sentences, VAL_VARIANTS (never trained on), for checkpoint selection
  test      corpus sentences, TEST_VARIANTS x TEST_SPEEDS: voices and speeds never used in
            training or validation (the issue's acceptance test)
  heldout   the held-out sentences (never trained on), TEST_VARIANTS x TEST_SPEEDS
Each split is OUTDIR/<split>.npz (16 kHz int16 audio, concatenated) plus a manifest; test and
heldout are also written as 16 kHz WAV files (and their 8 kHz mu-law round trip) for whisper-cli.
"""

import argparse
import json
import os
import random
import subprocess
import sys
from multiprocessing import Pool

import numpy as np
from scipy.signal import resample_poly

from common import LANGS, load_corpus

VOICES = {
    "en": ["en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc"],
    "vi": ["vi", "vi-vn-x-central", "vi-vn-x-south"],
    "zh": ["cmn"],
    "de": ["de"],
    "fr": ["fr-fr", "fr-be", "fr-ch"],
}
TRAIN_VARIANTS = [
    "m1", "m2", "m4", "m6", "m7", "f1", "f3", "f5", "klatt", "klatt3", "Alex", "Andy", "Annie", "adam",
    "aunty", "benjamin", "caleb", "david", "ed", "edward", "iven", "iven3", "linda", "max", "michel",
    "pablo", "paul", "quincy", "rob", "robert", "steph", "steph3", "zac", "belinda", "boris", "john",
    "victor", "travis", "norbert", "Mike", "Lee", "Marco", "", "m8", "grandma", "grandpa",
]
VAL_VARIANTS = ["m5", "klatt4", "Andrea"]
TEST_VARIANTS = ["m3", "f2", "f4", "klatt2", "iven2", "steph2", "Gene", "anika"]
TRAIN_SPEEDS = [135, 145, 160, 170, 185, 195, 210, 220]
VAL_SPEEDS = [165]
TEST_SPEEDS = [150, 175, 200]
MAX_SECONDS = 5.8  # the model's window is 6.0 s (audio_ctx 300)


def render(job):
    """render runs espeak-ng and returns 16 kHz int16 audio (leading/trailing silence trimmed)."""
    text, voice, variant, speed, pitch, gap = job
    v = voice + ("+" + variant if variant else "")
    raw = subprocess.run(
        ["espeak-ng", "-v", v, "-s", str(speed), "-p", str(pitch), "-g", str(gap), "--stdout", text],
        capture_output=True, check=True,
    ).stdout
    # WAV from espeak-ng: 44-byte header, 22050 Hz mono s16 (the size fields are unset when piped)
    x = np.frombuffer(raw[44:], dtype="<i2").astype(np.float32)
    y = resample_poly(x, 320, 441)
    thr = 0.02 * (np.abs(y).max() + 1e-6)
    idx = np.nonzero(np.abs(y) > thr)[0]
    if len(idx):
        y = y[max(0, idx[0] - 800) : idx[-1] + 1600]
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def make_jobs(sentences, variants, speeds, renders, rng, pitch_range=(20, 80)):
    jobs, meta = [], []
    for lang in LANGS:
        for si, s in enumerate(sentences[lang]):
            for r in range(renders):
                voice = rng.choice(VOICES[lang])
                var = rng.choice(variants)
                speed = rng.choice(speeds)
                pitch = rng.randint(*pitch_range)
                gap = rng.randint(0, 3)
                jobs.append((s, voice, var, speed, pitch, gap))
                meta.append({"lang": lang, "sent": si, "text": s, "voice": voice, "variant": var, "speed": speed, "pitch": pitch, "gap": gap})
    return jobs, meta


def save_split(out, name, clips, meta, wav=False):
    keep = [i for i, c in enumerate(clips) if len(c) / 16000 <= MAX_SECONDS]
    dropped = len(clips) - len(keep)
    clips = [clips[i] for i in keep]
    meta = [meta[i] for i in keep]
    lens = np.array([len(c) for c in clips], dtype=np.int64)
    offs = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    np.savez(os.path.join(out, name + ".npz"), audio=np.concatenate(clips), offsets=offs, lengths=lens)
    for i, m in enumerate(meta):
        m["id"] = f"{name}-{i:05d}-{m['lang']}"
    with open(os.path.join(out, name + ".json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=0)
    if wav:
        wdir = os.path.join(out, "wav", name)
        mdir = os.path.join(out, "wav", name + "-mulaw")
        os.makedirs(wdir, exist_ok=True)
        os.makedirs(mdir, exist_ok=True)
        for m, c in zip(meta, clips):
            p = os.path.join(wdir, m["id"] + ".wav")
            subprocess.run(["sox", "-t", "raw", "-r", "16000", "-e", "signed", "-b", "16", "-c", "1", "-", p], input=c.astype("<i2").tobytes(), check=True)
            # telephone path: 8 kHz G.711 mu-law, then back to 16 kHz for whisper-cli
            t8 = os.path.join(mdir, m["id"] + ".8k.wav")
            subprocess.run(["sox", "-V1", "-G", p, "-r", "8000", "-e", "mu-law", t8], check=True)
            subprocess.run(["sox", "-V1", t8, "-r", "16000", "-e", "signed", "-b", "16", os.path.join(mdir, m["id"] + ".wav")], check=True)
            os.remove(t8)
    print(f"{name}: {len(clips)} clips ({dropped} longer than {MAX_SECONDS} s dropped), {lens.sum() / 16000 / 3600:.2f} h", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--renders", type=int, default=16, help="training renders per corpus sentence")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    corpus, heldout = load_corpus()
    splits = [
        ("test", corpus, TEST_VARIANTS, TEST_SPEEDS, 1, True),
        ("heldout", heldout, TEST_VARIANTS, TEST_SPEEDS, 3, True),
        ("val", corpus, VAL_VARIANTS, VAL_SPEEDS, 1, False),
        ("train", corpus, TRAIN_VARIANTS, TRAIN_SPEEDS, a.renders, False),
    ]
    with Pool(a.jobs) as pool:
        for name, sents, variants, speeds, renders, wav in splits:
            if os.path.exists(os.path.join(a.out, name + ".json")):
                print(f"{name}: exists, kept", file=sys.stderr)
                continue
            jobs, meta = make_jobs(sents, variants, speeds, renders, random.Random(f"{a.seed}-{name}"))
            clips = pool.map(render, jobs, chunksize=8)
            save_split(a.out, name, clips, meta, wav)


if __name__ == "__main__":
    main()
