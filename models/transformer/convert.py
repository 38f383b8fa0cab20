"""convert.py turns a Hugging Face checkpoint directory into a sentio transformer model directory.

    python3 convert.py CHECKPOINT_DIR OUT_DIR [--kind encoder-classifier|seq2seq] [--max-input-tokens N]
        [--max-output-tokens N] [--label-map LABEL_0=negative,...] [--label-strings negative=...,...]
        [--separator ": "] [--prompt "{text}"] [--tokenizer auto|tokenizers|sentencepiece] ...

CHECKPOINT_DIR is what save_pretrained writes (config.json, model.safetensors or
pytorch_model.bin, tokenizer.json and/or a SentencePiece model). OUT_DIR gets:

- encoder-classifier: model.onnx (input_ids, attention_mask int64 [batch, seq] -> logits float32
  [batch, num_labels]);
- seq2seq: encoder_model.onnx, decoder_model.onnx, decoder_with_past_model.onnx with the tensor
  names of Hugging Face Optimum (see /tmp/tx/contract.md and README.md);
- tokenizer.json (always), spiece.model (when the checkpoint has a SentencePiece model);
- model.json: kind, labels (order of the logits columns / label strings), the "transformer"
  section (architecture, tokenizer, max lengths, pad/eos/decoder-start ids, KV-cache shape,
  prompt and output format), provenance.

Then it CHECKS the directory with onnxruntime against the PyTorch model and exits non-zero when a
check fails: the runtime tokenizer (tokenizer.json, or spiece.model with the manifest's prefix,
suffix and offset) gives the checkpoint tokenizer's ids on the check texts (truncation included);
classifier logits within --tolerance (default 1e-4) on a padded batch; seq2seq encoder states and
decoder logits within tolerance, and a greedy decode through decoder_model + decoder_with_past_model
equal to model.generate(num_beams=1, do_sample=False) on every check text.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
import time

import numpy as np
import onnxruntime as ort
import sentencepiece as spm
import torch
import transformers
from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoModelForSequenceClassification, AutoTokenizer
from transformers.cache_utils import DynamicCache, EncoderDecoderCache
from transformers.modeling_outputs import BaseModelOutput

import filehash

HERE = os.path.dirname(os.path.abspath(__file__))
LABELS = ["negative", "neutral", "positive"]
LANGS = ["vi", "en", "zh", "de", "fr"]
OPSET = 17

# Texts the checks run on when no --check-texts file is given: the five languages, emoji, combining
# marks, mixed scripts, and one longer than any max_input_tokens (truncation).
CHECK_TEXTS = [
    "Tôi bị đau đầu và chóng mặt suốt ba ngày nay.",
    "The doctor said the surgery went well and I can go home tomorrow.",
    "医生说我的血压太高了，需要吃药。",
    "Die Behandlung hat leider nicht geholfen, die Schmerzen sind schlimmer geworden.",
    "Le traitement fonctionne bien, je me sens beaucoup mieux 😊",
    "negative medical condition",
    "Bệnh nhân e\u0301 cafe\u0301 😷🤒 頭痛 headache Kopfschmerzen",
    "ok",
    "A patient with type 2 diabetes should check blood sugar levels regularly, "
    "eat vegetables, and avoid sweets. " * 40,
]


def log(msg):
    print(f"convert: {msg}", flush=True)


def fail(msg):
    print(f"convert: FAILED: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


# ---------------------------------------------------------------- ONNX wrappers (flat tensors)

# The wrappers hand the models ready 4-D additive masks: transformers' own mask construction turns
# shapes into Python numbers (and skips an all-ones mask), which the tracer would freeze into the graph.

def padding_mask(mask, dtype=torch.float32):
    """padding_mask: [b, s] 1/0 -> additive [b, 1, 1, s] (0 keep, dtype min drop)."""
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def causal_mask(b, t, past, dtype=torch.float32):
    """causal_mask: additive [b, 1, t, past + t]; query i sees keys 0 .. past + i."""
    q = torch.arange(t)[:, None] + past
    k = torch.arange(t + past)[None, :]
    m = (k > q).to(dtype) * torch.finfo(dtype).min
    return m[None, None].expand(b, 1, t, t + past)


class ClassifierWrapper(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        pos = None
        if getattr(self.model.config, "model_type", "") in ("xlm-roberta", "roberta", "camembert", "xlm_roberta"):
            pad = self.model.config.pad_token_id
            pos = torch.cumsum(attention_mask, dim=1) * attention_mask + pad
        return self.model(input_ids=input_ids, attention_mask=padding_mask(attention_mask), position_ids=pos,
                          return_dict=True).logits


class EncoderWrapper(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.encoder = model.get_encoder()

    def forward(self, input_ids, attention_mask):
        return self.encoder(input_ids=input_ids, attention_mask=padding_mask(attention_mask),
                            return_dict=True).last_hidden_state


def _flat(cache: EncoderDecoderCache, with_encoder: bool):
    out = []
    for i in range(len(cache.self_attention_cache.layers)):
        s = cache.self_attention_cache.layers[i]
        out += [s.keys, s.values]
        if with_encoder:
            c = cache.cross_attention_cache.layers[i]
            out += [c.keys, c.values]
    return out


class DecoderWrapper(torch.nn.Module):
    """decoder_model: the first decoder pass (no cache); returns the self- and cross-attention K/V."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, encoder_attention_mask, encoder_hidden_states):
        cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        b, t = input_ids.shape
        out = self.model(attention_mask=padding_mask(encoder_attention_mask),
                         decoder_attention_mask=causal_mask(b, t, 0),
                         encoder_outputs=BaseModelOutput(last_hidden_state=encoder_hidden_states),
                         decoder_input_ids=input_ids, past_key_values=cache, use_cache=True, return_dict=True)
        return (out.logits, *_flat(out.past_key_values, True))


class DecoderWithPastWrapper(torch.nn.Module):
    """decoder_with_past_model: one step with the cache; the cross-attention K/V come from the cache,
    so the encoder states are not an input (a zero tensor of their shape stands in)."""

    def __init__(self, model, num_layers, d_model):
        super().__init__()
        self.model = model
        self.num_layers = num_layers
        self.d_model = d_model

    def forward(self, input_ids, encoder_attention_mask, *past):
        data = [tuple(past[4 * i: 4 * i + 4]) for i in range(self.num_layers)]
        cache = EncoderDecoderCache(data)
        b, s = encoder_attention_mask.shape
        dummy = torch.zeros(b, s, self.d_model, dtype=past[0].dtype)
        out = self.model(attention_mask=padding_mask(encoder_attention_mask),
                         decoder_attention_mask=torch.zeros(b, 1, 1, past[0].shape[2] + 1, dtype=past[0].dtype),
                         encoder_outputs=BaseModelOutput(last_hidden_state=dummy),
                         decoder_input_ids=input_ids, past_key_values=cache, use_cache=True, return_dict=True)
        return (out.logits, *_flat(out.past_key_values, False))


def kv_names(prefix, n, with_encoder):
    names = []
    for i in range(n):
        names += [f"{prefix}.{i}.decoder.key", f"{prefix}.{i}.decoder.value"]
        if with_encoder:
            names += [f"{prefix}.{i}.encoder.key", f"{prefix}.{i}.encoder.value"]
    return names


def export(module, args, path, inputs, outputs, dynamic):
    # No constant folding: it would store a transposed copy of a tied embedding matrix (ONNX Runtime
    # folds constants itself when it loads the graph, so nothing is lost at run time).
    # A new nn.Module is in training mode, and the exporter restores that mode afterwards, recursively:
    # without eval() here the wrapped model would come back with dropout on.
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                          opset_version=OPSET, do_constant_folding=False, dynamo=False)


# ---------------------------------------------------------------- model facts

def seq2seq_dims(cfg):
    n_layers = getattr(cfg, "num_decoder_layers", None) or getattr(cfg, "decoder_layers", None) or cfg.num_layers
    n_heads = getattr(cfg, "num_heads", None) or getattr(cfg, "decoder_attention_heads", None)
    d_model = getattr(cfg, "d_model", None) or cfg.hidden_size
    head_dim = getattr(cfg, "d_kv", None) or d_model // n_heads
    return int(n_layers), int(n_heads), int(head_dim), int(d_model)


def find_spm(ckpt):
    for name in ("spiece.model", "sentencepiece.bpe.model", "tokenizer.model", "source.spm"):
        p = os.path.join(ckpt, name)
        if os.path.exists(p):
            return p
    return None


def special_layout(tok):
    """special_layout returns (prefix_ids, suffix_ids) the tokenizer adds around a single text."""
    probe = "hello world"
    full = tok(probe, add_special_tokens=True)["input_ids"]
    bare = tok(probe, add_special_tokens=False)["input_ids"]
    for i in range(len(full) - len(bare) + 1):
        if full[i:i + len(bare)] == bare:
            return full[:i], full[i + len(bare):]
    fail("cannot find the special tokens the tokenizer adds around a text; pass --tokenizer tokenizers")


def hf_ids(tok, text, max_len):
    return tok(text, truncation=True, max_length=max_len)["input_ids"]


def runtime_ids(tspec, out_dir, text, max_len, _cache={}):
    """runtime_ids is what a sentio runtime computes with the manifest's tokenizer section."""
    if tspec["type"] == "sentencepiece":
        key = os.path.join(out_dir, tspec["file"])
        if key not in _cache:
            _cache[key] = spm.SentencePieceProcessor(model_file=key)
        sp = _cache[key]
        ids = [i + tspec["id_offset"] for i in sp.encode(text)]
        ids = ids[: max(0, max_len - len(tspec["prefix_ids"]) - len(tspec["suffix_ids"]))]
        return tspec["prefix_ids"] + ids + tspec["suffix_ids"]
    from tokenizers import Tokenizer
    key = os.path.join(out_dir, tspec["file"])
    if key not in _cache:
        t = Tokenizer.from_file(key)
        t.no_truncation()
        t.no_padding()
        _cache[key] = t
    t = _cache[key]
    ids = t.encode(text, add_special_tokens=False).ids
    ids = ids[: max(0, max_len - len(tspec["prefix_ids"]) - len(tspec["suffix_ids"]))]
    return tspec["prefix_ids"] + ids + tspec["suffix_ids"]


def tokenizer_spec(tok, ckpt, out_dir, choice, texts):
    prefix, suffix = special_layout(tok)
    spec = {"prefix_ids": prefix, "suffix_ids": suffix, "id_offset": 0, "lowercase": False}
    sp_path = find_spm(ckpt)
    if choice == "auto":
        # The SentencePiece model when the checkpoint has one: it is what the tokenizer was built
        # from, and sentio's tokenizer runs it with the C++ library Python wraps, while a Unigram
        # tokenizer.json is refused there (reasoning/tokenize).
        choice = "sentencepiece" if sp_path is not None else "tokenizers"
    if choice == "sentencepiece":
        if sp_path is None:
            fail(f"--tokenizer sentencepiece: {ckpt} has no spiece.model / sentencepiece.bpe.model")
        sp = spm.SentencePieceProcessor(model_file=sp_path)
        bare = tok(texts[0], add_special_tokens=False)["input_ids"]
        spec["id_offset"] = int(bare[0] - sp.encode(texts[0])[0])
        return {"file": "spiece.model", "type": "sentencepiece", **spec}
    return {"file": "tokenizer.json", "type": "tokenizers", **spec}


def example_batch(tspec, pad_id):
    """example_batch is the tracing input: two rows, the second padded."""
    a = tspec["prefix_ids"] + [10, 11, 12, 13, 14, 15] + tspec["suffix_ids"]
    b = tspec["prefix_ids"] + [16, 17, 18] + tspec["suffix_ids"]
    ids = torch.full((2, len(a)), pad_id, dtype=torch.long)
    mask = torch.zeros((2, len(a)), dtype=torch.long)
    ids[0, :len(a)], mask[0, :len(a)] = torch.tensor(a), 1
    ids[1, :len(b)], mask[1, :len(b)] = torch.tensor(b), 1
    return ids, mask


def parse_map(s):
    out = {}
    for part in (s or "").split(","):
        if part.strip():
            k, v = part.split("=", 1)
            out[k.strip()] = v
    return out


# ---------------------------------------------------------------- convert

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--kind", choices=["auto", "encoder-classifier", "seq2seq"], default="auto")
    ap.add_argument("--tokenizer", choices=["auto", "tokenizers", "sentencepiece"], default="auto",
                    help="which tokenizer the runtime uses: auto is the SentencePiece model when the "
                         "checkpoint has one, else tokenizer.json")
    ap.add_argument("--max-input-tokens", type=int, default=0,
                    help="inputs are truncated to this many ids, special tokens included (default: the "
                         "tokenizer's model_max_length, at most 512, and the position table's size)")
    ap.add_argument("--max-output-tokens", type=int, default=48, help="seq2seq: most rationale tokens generated")
    ap.add_argument("--label-map", default="",
                    help="encoder-classifier: checkpoint label -> sentio label, e.g. LABEL_0=negative,LABEL_1=neutral,"
                         "LABEL_2=positive (default: id2label must already be negative/neutral/positive)")
    ap.add_argument("--label-strings", default="",
                    help="seq2seq: sentio label -> the string the model generates, e.g. negative=tiêu cực,... "
                         "(default: the label names)")
    ap.add_argument("--separator", default=": ", help="seq2seq: what follows the label string in the target")
    ap.add_argument("--prompt", default="{text}", help="seq2seq: input template; {text} the utterance, {lang} its language")
    ap.add_argument("--num-beams", type=int, default=1)
    ap.add_argument("--languages", default=",".join(LANGS))
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--provenance", default="", help="JSON file merged into the manifest's provenance (training facts)")
    ap.add_argument("--metrics", default="", help="JSON file written as the manifest's metrics")
    ap.add_argument("--model-card", default="", help="MODEL_CARD.md copied into OUT_DIR")
    ap.add_argument("--check-texts", default="", help="file of check texts, one a line (default: a built-in list)")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args(argv)

    t0 = time.time()
    ckpt = os.path.abspath(args.checkpoint)
    if not os.path.exists(os.path.join(ckpt, "config.json")):
        fail(f"{ckpt}/config.json: not found; CHECKPOINT_DIR must be a directory written by save_pretrained")
    cfg = AutoConfig.from_pretrained(ckpt)
    arch = (cfg.architectures or [type(cfg).__name__])[0]
    kind = args.kind
    if kind == "auto":
        if arch.endswith("ForSequenceClassification"):
            kind = "encoder-classifier"
        elif getattr(cfg, "is_encoder_decoder", False):
            kind = "seq2seq"
        else:
            fail(f"{ckpt}/config.json: architecture {arch} is neither a sequence classifier nor an encoder-decoder; "
                 "pass --kind")
    tok = AutoTokenizer.from_pretrained(ckpt)
    if not getattr(tok, "is_fast", False):
        fail(f"{ckpt}: the tokenizer is not a fast (tokenizers) one; sentio needs tokenizer.json")
    texts = CHECK_TEXTS
    if args.check_texts:
        with open(args.check_texts, encoding="utf-8") as f:
            texts = [ln.rstrip("\n") for ln in f if ln.strip()]

    max_in = args.max_input_tokens
    if not max_in:
        max_in = min(int(getattr(tok, "model_max_length", 512) or 512), 512)
        mpe = getattr(cfg, "max_position_embeddings", None)
        if mpe and kind == "encoder-classifier":
            max_in = min(max_in, int(mpe) - (2 if "roberta" in cfg.model_type.lower() else 0))

    os.makedirs(args.out, exist_ok=True)
    out = os.path.abspath(args.out)
    for stale in glob.glob(os.path.join(out, "*.onnx")):
        os.unlink(stale)
    tok.backend_tokenizer.save(os.path.join(out, "tokenizer.json"))
    sp_path = find_spm(ckpt)
    if sp_path:
        shutil.copyfile(sp_path, os.path.join(out, "spiece.model"))
    tspec = tokenizer_spec(tok, ckpt, out, args.tokenizer, texts)

    manifest = {"kind": kind, "version": args.version, "labels": LABELS,
                "languages": [x for x in args.languages.split(",") if x]}
    tr = {"architecture": arch, "tokenizer": tspec, "max_input_tokens": max_in,
          "pad_id": int(tok.pad_token_id if tok.pad_token_id is not None else cfg.pad_token_id)}

    if kind == "encoder-classifier":
        model = AutoModelForSequenceClassification.from_pretrained(ckpt, attn_implementation="eager").eval()
        id2label = {int(k): v for k, v in model.config.id2label.items()}
        lmap = parse_map(args.label_map)
        names = [lmap.get(id2label[i], id2label[i]).lower() for i in range(len(id2label))]
        if sorted(names) != sorted(LABELS):
            fail(f"{ckpt}/config.json: id2label {id2label} does not name negative/neutral/positive; pass "
                 "--label-map CHECKPOINT_LABEL=negative,...")
        manifest["labels"] = names
        tr["onnx"] = {"model": "model.onnx"}
        tr["id2label"] = {str(i): id2label[i] for i in id2label}
        # The example batch has padding: transformers skips the attention mask when it is all ones
        # (the tracer would then drop it from the graph).
        ids, mask = example_batch(tspec, tr["pad_id"])
        export(ClassifierWrapper(model), (ids, mask), os.path.join(out, "model.onnx"),
               ["input_ids", "attention_mask"], ["logits"],
               {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                "logits": {0: "batch"}})
    else:
        model = AutoModelForSeq2SeqLM.from_pretrained(ckpt, attn_implementation="eager").eval()
        n_layers, n_heads, head_dim, d_model = seq2seq_dims(model.config)
        lstr = {l: l for l in LABELS}
        lstr.update(parse_map(args.label_strings))
        label_ids = {l: tok(lstr[l] + args.separator, add_special_tokens=False)["input_ids"] for l in LABELS}
        if len({tuple(v) for v in label_ids.values()}) != 3:
            fail(f"--label-strings: the three label strings tokenize the same: {label_ids}")
        start = model.config.decoder_start_token_id
        eos = model.config.eos_token_id
        tr.update({"onnx": {"encoder": "encoder_model.onnx", "decoder": "decoder_model.onnx",
                            "decoder_with_past": "decoder_with_past_model.onnx"},
                   "num_layers": n_layers, "num_heads": n_heads, "head_dim": head_dim, "d_model": d_model,
                   "vocab_size": int(model.config.vocab_size),
                   "decoder_start_id": int(start), "eos_id": int(eos if not isinstance(eos, list) else eos[0]),
                   "max_output_tokens": args.max_output_tokens, "prompt": args.prompt,
                   "output": {"label_strings": lstr, "separator": args.separator,
                              "label_ids": label_ids,
                              "label_ids_doc": "ids of label string + separator (tokenizer, no special tokens): "
                                               "the teacher-forced sequence scored for each label after "
                                               "decoder_start_id; the rationale is generated after the chosen one"},
                   "num_beams": args.num_beams})
        ids, mask = example_batch(tspec, tr["pad_id"])
        batch_seq = {0: "batch", 1: "encoder_sequence"}
        export(EncoderWrapper(model), (ids, mask), os.path.join(out, "encoder_model.onnx"),
               ["input_ids", "attention_mask"], ["last_hidden_state"],
               {"input_ids": batch_seq, "attention_mask": batch_seq, "last_hidden_state": batch_seq})
        with torch.no_grad():
            hs = model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state
        dec_ids = torch.tensor([[start, 5, 6], [start, 7, 8]], dtype=torch.long)
        present = kv_names("present", n_layers, True)
        dyn = {"input_ids": {0: "batch", 1: "decoder_sequence"}, "encoder_attention_mask": batch_seq,
               "encoder_hidden_states": batch_seq, "logits": {0: "batch", 1: "decoder_sequence"}}
        for n in present:
            dyn[n] = {0: "batch", 2: "encoder_sequence" if ".encoder." in n else "decoder_sequence"}
        export(DecoderWrapper(model), (dec_ids, mask, hs), os.path.join(out, "decoder_model.onnx"),
               ["input_ids", "encoder_attention_mask", "encoder_hidden_states"], ["logits", *present], dyn)
        with torch.no_grad():
            flat = DecoderWrapper(model)(dec_ids, mask, hs)[1:]
        past_names = kv_names("past_key_values", n_layers, True)
        present_dec = kv_names("present", n_layers, False)
        dyn = {"input_ids": {0: "batch"}, "encoder_attention_mask": batch_seq, "logits": {0: "batch"}}
        for n in past_names:
            dyn[n] = {0: "batch", 2: "encoder_sequence" if ".encoder." in n else "past_decoder_sequence"}
        for n in present_dec:
            dyn[n] = {0: "batch", 2: "past_decoder_sequence + 1"}
        export(DecoderWithPastWrapper(model, n_layers, d_model), (dec_ids[:, -1:], mask, *flat),
               os.path.join(out, "decoder_with_past_model.onnx"),
               ["input_ids", "encoder_attention_mask", *past_names], ["logits", *present_dec], dyn)

    manifest["transformer"] = tr
    prov = {"converter": "models/transformer/convert.py", "checkpoint": ckpt,
            "checkpoint_files": {os.path.basename(p): filehash.sha256(p) for p in
                                 sorted(glob.glob(os.path.join(ckpt, "*.safetensors")) +
                                        glob.glob(os.path.join(ckpt, "pytorch_model.bin")))},
            "argv": sys.argv[1:] if argv is None else argv, "opset": OPSET,
            "torch": torch.__version__, "transformers": transformers.__version__, "onnxruntime": ort.__version__,
            "git_commit": _git_commit(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if args.provenance:
        with open(args.provenance) as f:
            prov.update(json.load(f))
    manifest["provenance"] = prov
    manifest["metrics"] = {}
    if args.metrics:
        with open(args.metrics) as f:
            manifest["metrics"] = json.load(f)
    if args.model_card:
        shutil.copyfile(args.model_card, os.path.join(out, "MODEL_CARD.md"))

    checks = check(out, manifest, model, tok, texts, args.tolerance)
    manifest["provenance"]["checks"] = checks
    prov["sizes_bytes"] = {os.path.basename(p): os.path.getsize(p) for p in sorted(glob.glob(os.path.join(out, "*")))}
    with open(os.path.join(out, "model.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    log(f"{kind} {arch} -> {out} in {time.time() - t0:.1f} s; checks passed: {json.dumps(checks)}")


def _git_commit():
    import subprocess
    try:
        return subprocess.run(["git", "-C", HERE, "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:
        return "unknown"


# ---------------------------------------------------------------- checks

def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def pad_batch(rows, pad_id):
    n = max(len(r) for r in rows)
    ids = np.full((len(rows), n), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), n), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return ids, mask


def check(out, manifest, model, tok, texts, tol):
    tr = manifest["transformer"]
    max_in = tr["max_input_tokens"]
    prompt = tr.get("prompt", "{text}")
    inputs = [prompt.format(text=t, lang="en") for t in texts] if manifest["kind"] == "seq2seq" else texts
    rows = []
    for t in inputs:
        a, b = runtime_ids(tr["tokenizer"], out, t, max_in), hf_ids(tok, t, max_in)
        if a != b:
            fail(f"tokenizer: {tr['tokenizer']['file']} ({tr['tokenizer']['type']}) gives {a[:12]}... but the "
                 f"checkpoint tokenizer gives {b[:12]}... for {t[:60]!r}; use --tokenizer tokenizers")
        rows.append(a)
    res = {"texts": len(texts), "tokenizer": "identical ids", "longest_ids": max(len(r) for r in rows)}
    ids, mask = pad_batch(rows, tr["pad_id"])
    with torch.no_grad():
        if manifest["kind"] == "encoder-classifier":
            ref = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).logits.numpy()
            got = session(os.path.join(out, "model.onnx")).run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]
            d = float(np.abs(ref - got).max())
            if not d <= tol:
                fail(f"model.onnx: logits differ from PyTorch by {d:.3g} > {tol}")
            res["logits_max_abs_diff"] = d
            return res
        enc = session(os.path.join(out, "encoder_model.onnx"))
        dec = session(os.path.join(out, "decoder_model.onnx"))
        dwp = session(os.path.join(out, "decoder_with_past_model.onnx"))
        ref_hs = model.get_encoder()(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state.numpy()
        hs = enc.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})[0]
        d_enc = float(np.abs((ref_hs - hs) * mask[:, :, None]).max())
        if not d_enc <= tol:
            fail(f"encoder_model.onnx: last_hidden_state differs from PyTorch by {d_enc:.3g} > {tol}")
        start, eos, n_out = tr["decoder_start_id"], tr["eos_id"], tr["max_output_tokens"]
        d_dec = 0.0
        for i, r in enumerate(rows):
            x = np.array([r], dtype=np.int64)
            m = np.ones_like(x)
            gen = model.generate(input_ids=torch.from_numpy(x), attention_mask=torch.from_numpy(m), num_beams=1,
                                 do_sample=False, max_new_tokens=n_out)[0].tolist()
            got, logits_trace = greedy(enc, dec, dwp, r, start, eos, n_out, tr["num_layers"])
            if got != gen:
                fail(f"greedy decode through the ONNX graphs {got} differs from model.generate {gen} "
                     f"for {texts[i][:60]!r}")
            # the teacher-forced logits of the whole generated sequence, PyTorch vs decoder_model.onnx
            ref = model(input_ids=torch.from_numpy(x), attention_mask=torch.from_numpy(m),
                        decoder_input_ids=torch.tensor([gen[:-1] if len(gen) > 1 else gen])).logits.numpy()
            d = float(np.abs(ref[0] - logits_trace[: ref.shape[1]]).max())
            d_dec = max(d_dec, d)
        if not d_dec <= tol:
            fail(f"decoder logits (decoder_model + decoder_with_past_model) differ from PyTorch by {d_dec:.3g} > {tol}")
        res.update({"encoder_max_abs_diff": d_enc, "decoder_logits_max_abs_diff": d_dec,
                    "greedy": "identical to model.generate on every check text"})
        return res


def greedy(enc, dec, dwp, ids, start, eos, max_new, n_layers):
    """greedy decodes one text through the three graphs; returns ([start] + generated ids, the logits rows)."""
    x = np.array([ids], dtype=np.int64)
    m = np.ones_like(x)
    hs = enc.run(["last_hidden_state"], {"input_ids": x, "attention_mask": m})[0]
    outs = dec.run(None, {"input_ids": np.array([[start]], dtype=np.int64), "encoder_attention_mask": m,
                          "encoder_hidden_states": hs})
    logits, pres = outs[0][0, -1], outs[1:]
    trace = [logits]
    seq = [start]
    enc_kv = {i: (pres[4 * i + 2], pres[4 * i + 3]) for i in range(n_layers)}
    dec_kv = {i: (pres[4 * i], pres[4 * i + 1]) for i in range(n_layers)}
    for _ in range(max_new):
        nxt = int(np.argmax(logits))
        seq.append(nxt)
        if nxt == eos or len(seq) - 1 >= max_new:
            break
        feed = {"input_ids": np.array([[nxt]], dtype=np.int64), "encoder_attention_mask": m}
        for i in range(n_layers):
            feed[f"past_key_values.{i}.decoder.key"], feed[f"past_key_values.{i}.decoder.value"] = dec_kv[i]
            feed[f"past_key_values.{i}.encoder.key"], feed[f"past_key_values.{i}.encoder.value"] = enc_kv[i]
        o = dwp.run(None, feed)
        logits = o[0][0, -1]
        trace.append(logits)
        dec_kv = {i: (o[1 + 2 * i], o[2 + 2 * i]) for i in range(n_layers)}
    return seq, np.stack(trace)


if __name__ == "__main__":
    main()
