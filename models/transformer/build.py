"""build.py makes the two Hugging Face models of models/transformer on the SentencePiece vocabulary
of vocab.py, as real transformers classes saved with save_pretrained (config.json,
model.safetensors, tokenizer.json, tokenizer_config.json, spiece.model), so that everything after
it (training, convert.py) runs the code path of a real checkpoint:

- cls: XLMRobertaForSequenceClassification (XLM-R tokenizer layout over the same pieces: <s>=0,
  <pad>=1, </s>=2, <unk>=3, piece i -> i+1), num_labels 3 with id2label negative/neutral/positive;
- s2s: T5ForConditionalGeneration (gated-gelu as mT5, lm_head tied to the embeddings as T5 v1.0 (smaller); T5 ids pad=0 eos=1 unk=2,
  decoder_start = pad).

The weights are RANDOM (seeded); train.py starts from them.

    python3 build.py --spm build/vocab/spiece.model --out-cls build/hf-random-cls --out-s2s build/hf-random-s2s
    python3 build.py --size tiny --out-cls build/hf-tiny-cls --out-s2s build/hf-tiny-s2s
"""

from __future__ import annotations

import argparse
import os
import shutil

import torch
from transformers import (PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration, XLMRobertaConfig,
                          XLMRobertaForSequenceClassification)

import common
import spmtok

# Sizes: small enough to train on two shared cores and stay < 30 MB as fp32 ONNX.
CLS = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=512)
S2S = dict(d_model=128, d_kv=32, d_ff=512, num_layers=2, num_decoder_layers=2, num_heads=4)
MAX_INPUT_TOKENS = 256
# "tiny": the random-weight models committed for the Go tests (reasoning/testdata/transformer), a
# few MB per directory; same vocabulary, same classes, same code paths.
SIZES = {
    "small": (CLS, S2S),
    "tiny": (dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64),
             dict(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4)),
}


def build_cls(spm_path, out, seed, sizes=CLS):
    torch.manual_seed(seed)
    tok = spmtok.xlmr_tokenizer(spm_path)
    cfg = XLMRobertaConfig(
        vocab_size=tok.get_vocab_size(), max_position_embeddings=MAX_INPUT_TOKENS + 2, type_vocab_size=1,
        pad_token_id=1, bos_token_id=0, eos_token_id=2, num_labels=len(common.LABELS),
        id2label={i: l for i, l in enumerate(common.LABELS)}, label2id={l: i for i, l in enumerate(common.LABELS)},
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, **sizes)
    model = XLMRobertaForSequenceClassification(cfg).eval()
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                 pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>",
                                 model_max_length=MAX_INPUT_TOKENS)
    _save(model, hf, spm_path, out)


def build_s2s(spm_path, out, seed, sizes=S2S):
    torch.manual_seed(seed)
    tok = spmtok.t5_tokenizer(spm_path)
    cfg = T5Config(
        vocab_size=tok.get_vocab_size(), feed_forward_proj="gated-gelu", tie_word_embeddings=True,
        relative_attention_num_buckets=32, relative_attention_max_distance=128, dropout_rate=0.1,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, is_encoder_decoder=True, **sizes)
    model = T5ForConditionalGeneration(cfg).eval()
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
                                 model_max_length=MAX_INPUT_TOKENS)
    _save(model, hf, spm_path, out)


def _save(model, hf, spm_path, out):
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out)
    hf.save_pretrained(out)
    shutil.copyfile(spm_path, os.path.join(out, "spiece.model"))
    n = sum(p.numel() for p in model.parameters())
    print(f"{type(model).__name__}: {n/1e6:.2f} M parameters -> {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spm", default=os.path.join(common.HERE, "build", "vocab", "spiece.model"))
    ap.add_argument("--out-cls", required=True)
    ap.add_argument("--out-s2s", required=True)
    ap.add_argument("--seed", type=int, default=common.DEFAULT_SEED)
    ap.add_argument("--size", choices=sorted(SIZES), default="small",
                    help="small: the trained models' size; tiny: the random models of the Go tests")
    args = ap.parse_args()
    cls, s2s = SIZES[args.size]
    build_cls(args.spm, args.out_cls, args.seed, cls)
    build_s2s(args.spm, args.out_s2s, args.seed, s2s)


if __name__ == "__main__":
    main()
