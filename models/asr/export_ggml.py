#!/usr/bin/env python3
"""export_ggml.py writes a trained checkpoint as a whisper.cpp ggml model file.

Usage: export_ggml.py CHECKPOINT OUT.bin [--ftype q8_0|f16]

Format (whisper.cpp src/whisper.cpp whisper_model_load, models/convert-pt-to-ggml.py): magic
0x67676d6c; eleven int32 hparams (n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype); mel filters (n_mel, n_fft=201,
float32); vocabulary (count, then length-prefixed raw bytes per token); tensors, each as n_dims, name
length, type, dims in reverse order, name, data. Positional embeddings, 1-D tensors and conv biases
(stored as (n, 1)) are f32; conv weights f16; the other matrices f16 or q8_0 (per --ftype).

The token embedding has whisper's 51865 multilingual rows. Rows of ids the model never uses are zero
except for the last channel, set to -UNUSED_SCORE; the decoder's final layer norm pins that channel
to a constant 1, so such ids score exactly -UNUSED_SCORE and can never win the argmax.
"""

import argparse
import struct
import sys

import numpy as np
import torch

from common import N_FFT, N_MELS, N_VOCAB, Vocab, mel_filters

UNUSED_SCORE = 1000.0
GGML_FILE_MAGIC = 0x67676D6C
GGML_QNT_VERSION = 2
GGML_QNT_VERSION_FACTOR = 1000
FTYPES = {"f32": (0, 0), "f16": (1, 1), "q8_0": (7, 8)}  # name -> (file ftype, ggml tensor type)


def quantize_q8_0(a):
    """quantize_q8_0 packs a float32 matrix into ggml's Q8_0 blocks (fp16 scale + 32 int8)."""
    a = np.ascontiguousarray(a, dtype=np.float32).reshape(-1, 32)
    amax = np.abs(a).max(axis=1)
    d = amax / 127.0
    inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)
    qs = np.clip(np.round(a * inv[:, None]), -127, 127).astype(np.int8)
    out = np.zeros(a.shape[0], dtype=[("d", "<f2"), ("qs", "i1", 32)])
    out["d"] = d.astype(np.float16)
    out["qs"] = qs
    return out.tobytes()


def dequantize_q8_0(a):
    """dequantize_q8_0 returns what whisper.cpp will compute with for a matrix stored as Q8_0."""
    shape = a.shape
    a = np.ascontiguousarray(a, dtype=np.float32).reshape(-1, 32)
    d = (np.abs(a).max(axis=1) / 127.0).astype(np.float16).astype(np.float32)
    d_exact = np.abs(a).max(axis=1) / 127.0
    inv = np.where(d_exact > 0, 1.0 / np.where(d_exact > 0, d_exact, 1.0), 0.0)
    qs = np.clip(np.round(a * inv[:, None]), -127, 127)
    return (qs * d[:, None]).reshape(shape)


def whisper_state_dict(model, vocab):
    """whisper_state_dict maps the trained model to whisper's tensor names and full-size vocabulary."""
    sd = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items() if not k.startswith("ctc.")}
    te = sd["decoder.token_embedding.weight"]
    d = te.shape[1]
    full = np.zeros((N_VOCAB, d), dtype=np.float32)
    full[:, -1] = -UNUSED_SCORE
    for compact, wid in enumerate(vocab.whisper_ids):
        full[wid] = te[compact]
    sd["decoder.token_embedding.weight"] = full
    return sd


def is_f32(name, arr):
    return arr.ndim < 2 or name in (
        "encoder.conv1.bias",
        "encoder.conv2.bias",
        "encoder.positional_embedding",
        "decoder.positional_embedding",
    )


def apply_export_precision(model, vocab, ftype="q8_0"):
    """apply_export_precision rounds the model's weights in place the way the ggml file stores them.

    Use it to run PyTorch with exactly the weights whisper.cpp will see (for parity checks)."""
    sd = model.state_dict()
    with torch.no_grad():
        for name, t in sd.items():
            if name.startswith("ctc.") or t.dim() < 2 or is_f32(name, t.numpy()):
                continue
            a = t.float().numpy()
            if name.startswith("encoder.conv") or ftype == "f16":
                a = a.astype(np.float16).astype(np.float32)
            elif ftype == "q8_0":
                a = dequantize_q8_0(a)
            t.copy_(torch.from_numpy(a))


def export(ckpt_path, out_path, ftype="q8_0"):
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    from common import Whisper

    vocab = Vocab.from_json(ck["vocab"])
    dims = ck["dims"]
    model = Whisper(dims, vocab.size)
    model.load_state_dict(ck["model"])
    write_ggml(model, vocab, dims, out_path, ftype)
    return model, vocab


def write_ggml(model, vocab, dims, out_path, ftype="q8_0"):
    file_ftype, wtype = FTYPES[ftype]
    sd = whisper_state_dict(model, vocab)
    d = dims["d"]
    with open(out_path, "wb") as f:
        f.write(struct.pack("<I", GGML_FILE_MAGIC))
        hp_ftype = file_ftype + (GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR if ftype == "q8_0" else 0)
        for v in (N_VOCAB, dims["audio_ctx"], d, dims["n_head"], dims["enc_layers"], dims["text_ctx"], d, dims["n_head"], dims["dec_layers"], N_MELS, hp_ftype):
            f.write(struct.pack("<i", v))
        filt = mel_filters()
        f.write(struct.pack("<ii", filt.shape[0], filt.shape[1]))
        f.write(filt.astype("<f4").tobytes())
        assert filt.shape[1] == N_FFT // 2 + 1
        f.write(struct.pack("<i", vocab.n_chars))
        for ch in vocab.chars:
            b = ch.encode("utf-8")
            f.write(struct.pack("<I", len(b)))
            f.write(b)
        for name, data in sd.items():
            data = np.squeeze(data) if name not in ("encoder.conv1.bias", "encoder.conv2.bias") else data.reshape(-1, 1)
            if is_f32(name, data):
                ttype, payload = 0, data.astype("<f4").tobytes()
            elif name.startswith("encoder.conv") or ftype == "f16":
                ttype, payload = 1, data.astype("<f2").tobytes()
            elif ftype == "q8_0":
                ttype, payload = wtype, quantize_q8_0(data)
            else:
                ttype, payload = 0, data.astype("<f4").tobytes()
            nb = name.encode()
            f.write(struct.pack("<iii", data.ndim, len(nb), ttype))
            for s in reversed(data.shape):
                f.write(struct.pack("<i", s))
            f.write(nb)
            f.write(payload)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--ftype", default="q8_0", choices=sorted(FTYPES))
    a = ap.parse_args()
    export(a.checkpoint, a.out, a.ftype)
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
