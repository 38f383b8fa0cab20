#!/usr/bin/env python3
"""samples.py writes testdata/: one test clip per language and what each decoder makes of it.

Usage: samples.py --model ggml-sentio-small.bin --checkpoint work/last.pt --data work/data

For every language it picks the first test clip (a corpus sentence spoken by an espeak-ng voice and
speed never used in training), copies it to testdata/<lang>.wav (16 kHz mono s16) and records in
testdata/samples.json the reference sentence, the text and language whisper-cli decodes (greedy,
no fallback, language auto-detected) and the PyTorch model's greedy output. Go tests can check that
the Go whisper.cpp stage gives whisper-cli's text on these files.
"""

import argparse
import json
import os
import shutil

from common import LANGS
from evaluate import run_whisper_cli, torch_decoder


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="ggml-sentio-small.bin")
    ap.add_argument("--checkpoint", default="work/last.pt")
    ap.add_argument("--data", default="work/data")
    ap.add_argument("--out", default="testdata")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.data, "test.json"), encoding="utf-8") as f:
        meta = json.load(f)
    picked = [next(m for m in meta if m["lang"] == l) for l in LANGS]
    wavs = []
    for m in picked:
        dst = os.path.join(a.out, m["lang"] + ".wav")
        shutil.copyfile(os.path.join(a.data, "wav", "test", m["id"] + ".wav"), dst)
        wavs.append(dst)
    cli = run_whisper_cli(a.model, wavs, threads=1)
    dec = torch_decoder(a.checkpoint)
    rows = []
    for m, w in zip(picked, wavs):
        tl, tt = dec(w)
        rows.append({
            "file": os.path.basename(w), "language": m["lang"], "reference": m["text"],
            "voice": f"{m['voice']}+{m['variant']}", "speed_wpm": m["speed"],
            "whisper_cli": {"language": cli[w][0], "text": cli[w][1]},
            "pytorch": {"language": tl, "text": tt},
        })
    with open(os.path.join(a.out, "samples.json"), "w", encoding="utf-8") as f:
        json.dump({"model": os.path.basename(a.model),
                   "whisper_cli_flags": "-l auto -bs 1 -bo 1 -nf -nt -nfa", "samples": rows}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
