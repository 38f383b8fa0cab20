#!/usr/bin/env python3
"""evaluate.py measures the ggml model through the real whisper.cpp (whisper-cli).

Usage: evaluate.py --model ggml-sentio-small.bin --data work/data [--per-lang N] [--torch CKPT]
                   [--splits test,test-mulaw,heldout] [--out work/eval.json]

For each split it runs `whisper-cli -l auto -bs 1 -bo 1 -nf -nt -nfa` (greedy, no temperature fallback, no flash attention,
language auto-detected) on the WAV files written by synth.py, and reports per language the
character error rate (CER, after lower-casing and removing punctuation and spaces) and the share of
clips whose detected language is right. Splits:
  test        corpus sentences, voices and speeds never used in training
  test-mulaw  the same clips after sox 8 kHz G.711 mu-law and back to 16 kHz
  heldout     sentences outside the corpus (open-vocabulary figure), unseen voices and speeds
With --torch, the PyTorch checkpoint decodes the same clips greedily with the weights rounded as
the ggml file stores them, and the report gives how often whisper.cpp's text and language are
identical to PyTorch's (the parity check).
With --sentio BIN, the clips are decoded by `BIN transcribe --json` (sentio's own decoders, VAD and
whisper.cpp stage: what the issue's acceptance figures are about) instead of whisper-cli; the
test-mulaw split is then fed as the real 8 kHz G.711 mu-law WAV files, not the 16 kHz round trip.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import wave

import numpy as np

from common import LANGS, cer_normalize, edit_distance


def pick(meta, per_lang):
    by = {l: [m for m in meta if m["lang"] == l] for l in LANGS}
    out = []
    for l in LANGS:
        ms = by[l]
        if per_lang and len(ms) > per_lang:
            step = len(ms) / per_lang
            ms = [ms[int(i * step)] for i in range(per_lang)]
        out.extend(ms)
    return out


def run_whisper_cli(model, wavs, threads=2, batch=25):
    """run_whisper_cli returns {wav: (language, text)} decoded by whisper-cli."""
    res = {}
    for i in range(0, len(wavs), batch):
        chunk = wavs[i : i + batch]
        # -nfa: whisper.cpp's flash attention dilutes the cross-attention of a short-window model
        # like this one (audio context 300); sentio turns it off for such models (asr.FlashAttention).
        cmd = ["whisper-cli", "-m", model, "-l", "auto", "-bs", "1", "-bo", "1", "-nf", "-nt", "-nfa", "-np", "-t", str(threads), "-oj"]
        for w in chunk:
            cmd += ["-f", w]
        p = subprocess.run(cmd, capture_output=True, text=True)
        for w in chunk:
            jp = w + ".json"
            if not os.path.exists(jp):
                raise SystemExit(f"whisper-cli wrote no {jp}: exit {p.returncode}\n{p.stderr[-2000:]}")
            with open(jp, encoding="utf-8", errors="replace") as f:
                j = json.load(f)
            os.remove(jp)
            text = "".join(s["text"] for s in j.get("transcription", [])).strip()
            res[w] = (j["result"]["language"], text)
    return res


def run_sentio(binary, model, wavs, threads=2, batch=25):
    """run_sentio returns {wav: (language, text)} decoded by `sentio transcribe --json`."""
    res = {}
    for i in range(0, len(wavs), batch):
        chunk = wavs[i : i + batch]
        cmd = [binary, "transcribe", "--json", "--model", model, "--threads", str(threads)] + chunk
        p = subprocess.run(cmd, capture_output=True, text=True)
        lines = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
        by = {j["file"]: j for j in lines}
        for w in chunk:
            j = by.get(w)
            if j is None or j.get("error"):
                raise SystemExit(f"sentio transcribe gave no result for {w}: exit {p.returncode} {j and j.get('error')}\n{p.stderr[-2000:]}")
            res[w] = (j.get("language", ""), j["text"].strip())
    return res


def mulaw_wavs(wavs, tmp):
    """mulaw_wavs converts 16 kHz WAVs to 8 kHz G.711 mu-law WAVs in tmp (sox), as a telephone line carries them."""
    out = []
    os.makedirs(tmp, exist_ok=True)
    for w in wavs:
        t = os.path.join(tmp, os.path.basename(w))
        if not os.path.exists(t):
            subprocess.run(["sox", "-V1", "-G", w, "-r", "8000", "-e", "mu-law", t], check=True)
        out.append(t)
    return out


def read_wav(path):
    with wave.open(path) as f:
        assert f.getframerate() == 16000 and f.getnchannels() == 1 and f.getsampwidth() == 2, path
        return np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def torch_decoder(ckpt):
    import torch

    from common import LogMel, Vocab, Whisper, greedy_decode
    from export_ggml import apply_export_precision

    ck = torch.load(ckpt, map_location="cpu", weights_only=False)
    vocab = Vocab.from_json(ck["vocab"])
    model = Whisper(ck["dims"], vocab.size)
    model.load_state_dict(ck["model"])
    apply_export_precision(model, vocab, "f16")
    model.eval()
    mel_fn = LogMel(ck["dims"]["audio_ctx"] * 2)

    def decode(path):
        x = torch.from_numpy(read_wav(path))[None]
        lang, _, text, _ = greedy_decode(model, vocab, mel_fn(x)[0])
        return lang, text

    return decode


def score(rows):
    out = {}
    for l in LANGS + ["all"]:
        rs = [r for r in rows if l == "all" or r["lang"] == l]
        if not rs:
            continue
        e = sum(edit_distance(cer_normalize(r["ref"]), cer_normalize(r["hyp"])) for r in rs)
        n = sum(len(cer_normalize(r["ref"])) for r in rs)
        out[l] = {"clips": len(rs), "cer": e / max(1, n), "lang_acc": sum(r["lang_hyp"] == r["lang"] for r in rs) / len(rs)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="ggml-sentio-small.bin")
    ap.add_argument("--data", default="work/data")
    ap.add_argument("--splits", default="test,test-mulaw,heldout")
    ap.add_argument("--per-lang", type=int, default=0, help="clips per language and split (0: all)")
    ap.add_argument("--torch", help="PyTorch checkpoint for the parity check")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="work/eval.json")
    ap.add_argument("--sentio", help="decode with this sentio binary (`transcribe --json`) instead of whisper-cli")
    ap.add_argument("--min-parity", type=float, default=0, help="exit 1 if whisper.cpp and PyTorch agree on fewer texts")
    a = ap.parse_args()
    report = {"model": a.model, "engine": a.sentio and "sentio transcribe" or "whisper-cli", "splits": {}}
    dec = torch_decoder(a.torch) if a.torch else None
    for split in a.splits.split(","):
        base = split.replace("-mulaw", "")
        with open(os.path.join(a.data, base + ".json"), encoding="utf-8") as f:
            meta = pick(json.load(f), a.per_lang)
        wdir = os.path.join(a.data, "wav", split)
        wavs = [os.path.join(wdir, m["id"] + ".wav") for m in meta]
        t0 = time.time()
        if a.sentio:
            feed = wavs
            if split.endswith("-mulaw"):
                clean = [os.path.join(a.data, "wav", base, m["id"] + ".wav") for m in meta]
                feed = mulaw_wavs(clean, os.path.join(a.data, "wav", split + "-8k"))
            got8 = run_sentio(a.sentio, a.model, feed, a.threads)
            got = {w: got8[f] for w, f in zip(wavs, feed)}
        else:
            got = run_whisper_cli(a.model, wavs, a.threads)
        rows = []
        for m, w in zip(meta, wavs):
            lang, text = got[w]
            r = {"id": m["id"], "lang": m["lang"], "ref": m["text"], "lang_hyp": lang, "hyp": text,
                 "voice": f"{m['voice']}+{m['variant']}", "speed": m["speed"]}
            if dec:
                tl, tt = dec(w)
                r["torch_lang"], r["torch_hyp"] = tl, tt
            rows.append(r)
        s = score(rows)
        entry = {"scores": s, "seconds": time.time() - t0, "rows": rows}
        if dec:
            entry["parity"] = {
                "text_identical": sum(r["hyp"] == r["torch_hyp"] for r in rows) / len(rows),
                "lang_identical": sum(r["lang_hyp"] == r["torch_lang"] for r in rows) / len(rows),
                "torch_scores": score([dict(r, hyp=r["torch_hyp"], lang_hyp=r["torch_lang"]) for r in rows]),
            }
        report["splits"][split] = entry
        line = " ".join(f"{l}: CER {v['cer'] * 100:.1f}% lang {v['lang_acc'] * 100:.0f}%" for l, v in s.items())
        print(f"{split} ({len(rows)} clips): {line}", file=sys.stderr)
        if dec:
            print(f"{split} parity whisper.cpp vs PyTorch: text {entry['parity']['text_identical'] * 100:.0f}% identical, language {entry['parity']['lang_identical'] * 100:.0f}%", file=sys.stderr)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(report, f, ensure_ascii=False, indent=1)
    if a.min_parity and dec:
        worst = min(e["parity"]["text_identical"] for e in report["splits"].values())
        if worst < a.min_parity:
            raise SystemExit(f"parity check failed: whisper.cpp and PyTorch gave identical text on only {worst * 100:.0f}% of clips (want {a.min_parity * 100:.0f}%)")


if __name__ == "__main__":
    main()
