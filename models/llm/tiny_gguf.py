#!/usr/bin/env python3
"""Write a tiny Llama-architecture GGUF model with random weights, for sentio's LLM tests.

The model is not trained: its answers are noise. It exists so that tests can run the real
llama-server (chat completions, JSON-schema grammar, log-probabilities) in seconds, without a
download. Its tokenizer is a SentencePiece-style ("llama") vocabulary of the printable ASCII
characters, the word-start marker and the 256 byte-fallback tokens, so any UTF-8 text (Vietnamese,
Chinese, ...) tokenizes; the chat template is ChatML.

Usage: python3 models/llm/tiny_gguf.py OUT.gguf   (deterministic: same bytes for the same gguf
and numpy versions; about 0.3 MB, well under a second)
"""
import sys

import numpy as np
import gguf

N_EMBD, N_LAYER, N_HEAD, N_FF, N_CTX = 64, 2, 4, 128, 4096
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def vocab():
    """Tokens, scores and types: specials, byte fallbacks, the word-start marker and ASCII."""
    T = gguf.TokenType
    toks = [("<unk>", T.UNKNOWN), ("<s>", T.CONTROL), ("</s>", T.CONTROL),
            ("<|im_start|>", T.CONTROL), ("<|im_end|>", T.CONTROL)]
    toks += [(f"<0x{b:02X}>", T.BYTE) for b in range(256)]
    toks += [("\u2581", T.NORMAL)]
    toks += [(chr(c), T.NORMAL) for c in range(33, 127)]
    return [t for t, _ in toks], [0.0] * len(toks), [int(k) for _, k in toks]


def main(out):
    rng = np.random.default_rng(13)
    tokens, scores, types = vocab()
    n_vocab = len(tokens)
    w = gguf.GGUFWriter(out, "llama")
    w.add_name("sentio-tiny-random")
    w.add_context_length(N_CTX)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD)
    w.add_rope_dimension_count(N_EMBD // N_HEAD)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(tokens.index("<|im_end|>"))
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_chat_template(CHATML)

    def t(name, *shape, ones=False):
        a = np.ones(shape, np.float32) if ones else (rng.standard_normal(shape) * 0.02).astype(np.float32)
        w.add_tensor(name, a)

    t("token_embd.weight", n_vocab, N_EMBD)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        t(p + "attn_norm.weight", N_EMBD, ones=True)
        for m in ("attn_q", "attn_k", "attn_v", "attn_output"):
            t(p + m + ".weight", N_EMBD, N_EMBD)
        t(p + "ffn_norm.weight", N_EMBD, ones=True)
        t(p + "ffn_gate.weight", N_FF, N_EMBD)
        t(p + "ffn_up.weight", N_FF, N_EMBD)
        t(p + "ffn_down.weight", N_EMBD, N_FF)
    t("output_norm.weight", N_EMBD, ones=True)
    t("output.weight", n_vocab, N_EMBD)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
