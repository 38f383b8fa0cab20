"""spmtok.py builds Hugging Face fast tokenizers (tokenizer.json) from the SentencePiece model.

transformers' own T5 and XLM-R converters drop SentencePiece's byte_fallback (they turn bytes into
<unk>), so the tokenizer.json here is assembled with the `tokenizers` library directly, the way
sentencepiece itself tokenizes: its precompiled NFKC map, whitespace split with a "▁" prefix on
every word, Unigram with byte fallback; check() compares the ids with sentencepiece's.
"""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as model_pb2


def _proto(spm_path):
    m = model_pb2.ModelProto()
    with open(spm_path, "rb") as f:
        m.ParseFromString(f.read())
    return m


def _assemble(vocab, unk_id, proto):
    tok = Tokenizer(Unigram(vocab, unk_id=unk_id, byte_fallback=bool(proto.trainer_spec.byte_fallback)))
    cmap = proto.normalizer_spec.precompiled_charsmap
    if cmap:
        tok.normalizer = normalizers.Precompiled(cmap)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
    ])
    tok.decoder = decoders.Sequence([
        decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0),
    ])
    return tok


def t5_tokenizer(spm_path):
    """t5_tokenizer returns (Tokenizer, special tokens): T5 layout, ids = sentencepiece ids, "$A </s>"."""
    proto = _proto(spm_path)
    vocab = [(p.piece, p.score) for p in proto.pieces]
    tok = _assemble(vocab, proto.trainer_spec.unk_id, proto)
    eos = proto.trainer_spec.eos_piece
    tok.add_special_tokens([proto.trainer_spec.pad_piece, eos, proto.trainer_spec.unk_piece])
    tok.post_processor = processors.TemplateProcessing(single=f"$A {eos}", pair=f"$A {eos} $B {eos}",
                                                       special_tokens=[(eos, proto.trainer_spec.eos_id)])
    return tok


def xlmr_tokenizer(spm_path):
    """xlmr_tokenizer returns the XLM-R (fairseq) layout over the same pieces: <s>=0 <pad>=1 </s>=2
    <unk>=3, piece i of the model (i >= 3) is id i+1, <mask> last; "<s> $A </s>"."""
    proto = _proto(spm_path)
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(p.piece, p.score) for p in proto.pieces[3:]]
    vocab += [("<mask>", 0.0)]
    tok = _assemble(vocab, 3, proto)
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                                       special_tokens=[("<s>", 0), ("</s>", 2)])
    return tok


def spm_ids(sp, text, prefix, suffix, offset, max_len=None):
    """spm_ids is what a runtime computes from spiece.model: prefix + (piece ids + offset) + suffix,
    the pieces cut so that the whole fits max_len."""
    ids = [i + offset for i in sp.encode(text)]
    if max_len is not None:
        ids = ids[: max(0, max_len - len(prefix) - len(suffix))]
    return list(prefix) + ids + list(suffix)


def check(tok, spm_path, texts, prefix, suffix, offset):
    """check returns the texts whose tokenizer.json ids differ from sentencepiece's (empty: parity)."""
    sp = spm.SentencePieceProcessor(model_file=spm_path)
    bad = []
    for t in texts:
        a = tok.encode(t).ids
        b = spm_ids(sp, t, prefix, suffix, offset)
        if a != b:
            bad.append((t, a, b))
    return bad
