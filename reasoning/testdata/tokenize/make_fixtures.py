#!/usr/bin/env python3
"""make_fixtures.py writes the Python reference ids that reasoning/tokenize's tests compare against.

Run it in the train toolbox from the repository root:

    SENTIO_TOOLBOX_PROFILE=train toolbox/run python3 reasoning/testdata/tokenize/make_fixtures.py [--train]

--train first (re)trains the small test tokenizers committed beside this script, on the
Sentiment Reasoning training data (/work/shared/data/sentiment-reasoning):

    wordpiece/tokenizer.json   BERT-style: BertNormalizer (lowercase, strip accents), BertPreTokenizer,
                               WordPiece, [CLS] $A [SEP]
    bytelevel/tokenizer.json   RoBERTa-style byte-level BPE, RobertaProcessing <s> $A </s>
    unigram/spiece.model       SentencePiece Unigram (T5 ids: pad 0, eos 1, unk 2)
    unigram/tokenizer.json     the same model converted as XLM-R (Precompiled normalizer, Metaspace,
                               <s> $A </s>) by transformers' XLMRobertaConverter
    bpe/spiece.model           SentencePiece BPE with byte fallback (bos 1, eos 2)
    bpe/tokenizer.json         the same model converted as Llama (byte fallback, ByteFallback decoder)

--model NAME=DIR adds a sentio model directory: its spiece.model with the special ids its model.json's
transformer.tokenizer section gives; the script also reports whether its tokenizer.json agrees.

Then it writes, for each tokenizer, NAME.jsonl.gz: a first line {"spec": {...}} (the Go Spec to open
it with and "dir", the tokenizer's directory relative to this one) and one line per text:
    {"i": text index, "ids": Encode(text, 0), "decoded": Decode(ids) (absent when it is the text),
     "pieces": EncodePieces(text), or "pieces_at": k, "pieces_n": n when they are ids[k:k+n],
     "trunc": {"max": Encode(text, max), ...}}   (trunc on every tenth text and on long ones)
The texts themselves are in texts.jsonl.gz (one JSON string a line) so that each is stored once.

References: Python `tokenizers` (Tokenizer.from_file, enable_truncation(max) as transformers does for
truncation=True, max_length=max; decode(ids, skip_special_tokens=True)) and Python `sentencepiece`
(prefix_ids + [id + id_offset ...] + suffix_ids, pieces cut to max - len(prefix) - len(suffix)).
"""

import argparse
import gzip
import io
import json
import os
import random
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/work/shared/data/sentiment-reasoning"
LANGS = ["vi", "en", "zh", "de", "fr"]
VOCAB = 3000
TRUNC_MAXES = [2, 3, 8, 64, 256]  # at least the special tokens: below, Encode fails

EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🧑🏿‍⚕️", "🏳️‍🌈", "🇻🇳", "1️⃣", "❤️", "🤒", "💊", "👩🏻‍⚕️", "🙏🏼", "😷", "🫀"]
SPACES = ["\t", "\u00a0", "  ", "   ", "\n", "\r\n", "\u3000", "\u2009", "\u200b", "\u202f", "\ufeff", "\u200d", " \t "]
OTHER_SCRIPTS = ["안녕하세요 의사", "مرحبا بالطبيب", "नमस्ते डॉक्टर", "Здравствуйте, доктор", "こんにちは先生",
                 "Γειά σου γιατρέ", "שלום רופא", "สวัสดีหมอ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛", "𠀋𠀍 ext-B", "\ue000private"]
HANDWRITTEN = [
    "", " ", "  ", "\t", "\n", "\u00a0", "\u3000", "\u200b", "\x00", "a\x00b", "\x7f\x01\x1f",
    "😀", "👨‍👩‍👧‍👦", "👍🏻👍🏼👍🏽👍🏾👍🏿", "🏳️‍🌈🇻🇳🇩🇪🇫🇷🇨🇳🇬🇧",
    "Bác sĩ ơi, tôi bị đau đầu 🤕 quá!", "The patient 🧑🏿‍⚕️ is fine 👍🏽.",
    unicodedata.normalize("NFD", "Tiếng Việt có dấu: người, được, những, ướt, ổn định"),
    "Z̴̢̛̖̤a̷̧͇͔l̸̰̈́g̵̱̈o̶̺͝ text", "e\u0301\u0301\u0301 a\u0300\u0323\u0302", "ﬁ ﬂ ① ㎏ Ⅻ ＡＢＣ１２３ ｶﾀｶﾅ",
    "İstanbul ΟΔΥΣΣΕΥΣ ΣΟΦΟΣ straße ǅemal", "HELLO World MiXeD CaSe ÉCOLE ĐÀ NẴNG",
    "医生说：“你的血压是120/80 mmHg，很正常。” The doctor said OK. Der Arzt sagt ça va. Bác sĩ nói ổn.",
    "x" * 600, "ab " * 300, "1234567890" * 50, "!!!???...,,,;;;:::", "a  b   c    d\t\te\u00a0\u00a0f",
    " leading and trailing spaces  ", "\ttab\tseparated\tvalues\t", "line1\nline2\r\nline3\rline4",
    "[CLS] <s> </s> <unk> <pad> [SEP] [MASK] <mask>", "▁already▁metaspace▁", "Ġbyte Ċlevel",
    "don't can't won't l'hôpital aujourd'hui", "co-operation e-mail U.S.A. 3.14 1,000,000 50% $5 €10",
]


def read_texts():
    """read_texts returns the test texts: data texts and rationales plus variants and edge cases."""
    rng = random.Random(12)
    base = {}
    for lang in LANGS:
        recs = [json.loads(l) for l in open(os.path.join(DATA, f"train.{lang}.jsonl"), encoding="utf-8")]
        rng.shuffle(recs)
        texts = [r["text"] for r in recs[:1000]]
        rats = sorted({r["rationale"] for r in recs})
        rng.shuffle(rats)
        base[lang] = texts + rats[:200]
    out = list(HANDWRITTEN)
    for lang in LANGS:
        out += base[lang]
    pool = [t for lang in LANGS for t in base[lang][:1000]]
    # Vietnamese in NFD (decomposed, as some keyboards and OCR write it).
    out += [unicodedata.normalize("NFD", t) for t in base["vi"][:150]]
    # Odd whitespace inserted between words.
    for t in rng.sample(pool, 150):
        words = t.split(" ")
        out.append("".join(w + rng.choice(SPACES) for w in words))
    # Emoji at random places.
    for t in rng.sample(pool, 150):
        words = t.split(" ")
        for _ in range(rng.randint(1, 3)):
            words.insert(rng.randint(0, len(words)), rng.choice(EMOJI) * rng.randint(1, 2))
        out.append(" ".join(words))
    # Mixed scripts: two or three languages and another script in one text.
    for _ in range(100):
        parts = [rng.choice(base[rng.choice(LANGS)]) for _ in range(rng.randint(2, 3))]
        parts.insert(rng.randint(0, len(parts)), rng.choice(OTHER_SCRIPTS))
        out.append(rng.choice([" ", "", "\n"]).join(parts))
    # Upper case and stacked diacritics.
    out += [t.upper() for t in rng.sample(pool, 60)]
    for t in rng.sample(pool, 30):
        out.append("".join(c + ("\u0301\u0323\u0308"[: rng.randint(0, 3)] if c.isalpha() else "") for c in t))
    # Very long texts (several hundred to a few thousand tokens).
    for _ in range(20):
        lang = rng.choice(LANGS)
        out.append(" ".join(rng.sample(base[lang], rng.randint(20, 120))))
    return out


def train(texts_for_training):
    """train writes the small test tokenizers beside this script."""
    import sentencepiece as spm
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    corpus = os.path.join("/tmp", "sentio-tokenize-corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        for t in texts_for_training:
            f.write(t.replace("\n", " ") + "\n")

    os.makedirs(os.path.join(HERE, "wordpiece"), exist_ok=True)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=True,
                                                lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.train([corpus], trainers.WordPieceTrainer(vocab_size=VOCAB, limit_alphabet=600,
                                                   special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    tok.save(os.path.join(HERE, "wordpiece", "tokenizer.json"))

    os.makedirs(os.path.join(HERE, "bytelevel"), exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train([corpus], trainers.BpeTrainer(vocab_size=VOCAB, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                             special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]))
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
                                                      trim_offsets=True, add_prefix_space=False)
    tok.save(os.path.join(HERE, "bytelevel", "tokenizer.json"))

    for name, kind, extra in [
        ("unigram", "unigram", dict(pad_id=0, eos_id=1, unk_id=2, bos_id=-1)),
        ("bpe", "bpe", dict(unk_id=0, bos_id=1, eos_id=2, pad_id=-1, byte_fallback=True)),
    ]:
        os.makedirs(os.path.join(HERE, name), exist_ok=True)
        spm.SentencePieceTrainer.train(
            input=corpus, model_prefix=os.path.join(HERE, name, "spiece"), model_type=kind, vocab_size=VOCAB,
            character_coverage=0.9995, num_threads=1, seed_sentencepiece_size=200000, input_sentence_size=0,
            shuffle_input_sentence=False, minloglevel=2, **extra)
        os.remove(os.path.join(HERE, name, "spiece.vocab"))
    convert(os.path.join(HERE, "unigram", "spiece.model"), "XLMRobertaConverter",
            os.path.join(HERE, "unigram", "tokenizer.json"), {"<s>": 0, "</s>": 2})
    convert(os.path.join(HERE, "bpe", "spiece.model"), "LlamaConverter",
            os.path.join(HERE, "bpe", "tokenizer.json"), {"<s>": 1, "</s>": 2})


def convert(spiece, converter, out, special):
    """convert writes tokenizer.json for a SentencePiece model with a transformers converter."""
    import transformers.convert_slow_tokenizer as cst
    from tokenizers import processors

    class Slow:
        vocab_file = spiece
        legacy = True
        add_prefix_space = True
        bos_token = "<s>"
        eos_token = "</s>"
        add_bos_token = True
        add_eos_token = False

        def convert_tokens_to_ids(self, t):
            return special[t]

        def convert_ids_to_tokens(self, i):
            import sentencepiece as spm
            return spm.SentencePieceProcessor(model_file=spiece).id_to_piece(i)

    class Extractor(cst.SentencePieceExtractor):
        # transformers 5.12's SpmConverter passes the scores where extract wants a model type.
        def extract(self, vocab_scores=None):
            kw = super().extract(None)
            return kw["vocab"], kw["merges"]

    conv = type("Conv", (getattr(cst, converter),), {"SpmExtractor": Extractor})
    tok = conv(Slow()).converted()
    if tok.post_processor is None:  # Llama: LlamaTokenizerFast adds <s> with this template
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                           special_tokens=[("<s>", special["<s>"])])
    tok.save(out)


def tokenizer_specs(models_args):
    """tokenizer_specs returns (name, dir, spec) for the test tokenizers and the --model directories."""
    specs = [
        ("wordpiece", "wordpiece", {"file": "tokenizer.json", "type": "tokenizers"}),
        ("bytelevel", "bytelevel", {"file": "tokenizer.json", "type": "tokenizers"}),
        ("unigram-json", "unigram", {"file": "tokenizer.json", "type": "tokenizers"}),
        ("bpe-json", "bpe", {"file": "tokenizer.json", "type": "tokenizers"}),
        ("unigram-spm", "unigram", {"file": "spiece.model", "type": "sentencepiece",
                                    "prefix_ids": [], "suffix_ids": [1], "id_offset": 0}),
        ("bpe-spm-lower", "bpe", {"file": "spiece.model", "type": "sentencepiece",
                                  "prefix_ids": [1], "suffix_ids": [2], "id_offset": 0, "lowercase": True}),
        ("unigram-spm-offset", "unigram", {"file": "spiece.model", "type": "sentencepiece",
                                           "prefix_ids": [0], "suffix_ids": [2], "id_offset": 1}),
    ]
    for arg in models_args:
        # A sentio model directory: its SentencePiece model with the manifest's prefix, suffix and
        # offset (the runtime's "sentencepiece" backend), checked against its tokenizer.json too.
        name, d = arg.split("=", 1)
        manifest = json.load(open(os.path.join(d, "model.json"), encoding="utf-8"))
        tk = dict(manifest["transformer"]["tokenizer"])
        rel = os.path.relpath(os.path.abspath(d), HERE)
        if os.path.exists(os.path.join(d, "spiece.model")):
            tk.update(file="spiece.model", type="sentencepiece")
        specs.append((name, rel, tk))
    return specs


def reference(d, spec):
    """reference returns encode(text, max), pieces(text), decode(ids) for one tokenizer, as Python does."""
    path = os.path.join(HERE, d, spec["file"])
    if spec["type"] == "tokenizers":
        from tokenizers import Tokenizer
        plain = Tokenizer.from_file(path)
        plain.no_truncation()
        plain.no_padding()
        cut = {}

        def encode(text, mx):
            if mx <= 0:
                return plain.encode(text).ids
            if mx not in cut:
                cut[mx] = Tokenizer.from_file(path)
                cut[mx].no_padding()
                cut[mx].enable_truncation(max_length=mx)
            return cut[mx].encode(text).ids

        return (encode, lambda text: plain.encode(text, add_special_tokens=False).ids,
                lambda ids: plain.decode(ids, skip_special_tokens=True))
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=path)
    pre, suf, off = spec.get("prefix_ids", []), spec.get("suffix_ids", []), spec.get("id_offset", 0)
    low = spec.get("lowercase", False)

    def pieces(text):
        return [i + off for i in sp.encode(text.lower() if low else text)]

    def encode(text, mx):
        p = pieces(text)
        if mx > 0:
            p = p[: mx - len(pre) - len(suf)]
        return pre + p + suf

    special = set(pre) | set(suf)
    return encode, pieces, lambda ids: sp.decode([i - off for i in ids if i not in special])


def check_same(texts, d, spec):
    """check_same prints how often a model directory's tokenizer.json and its SentencePiece model
    with the manifest's special ids disagree (they must not, for the runtime to use the latter)."""
    js = os.path.join(HERE, d, "tokenizer.json")
    if spec["type"] != "sentencepiece" or not os.path.exists(js):
        return
    enc_sp, _, _ = reference(d, spec)
    enc_js, _, _ = reference(d, {"file": "tokenizer.json", "type": "tokenizers"})
    bad = [t for t in texts if enc_sp(t, 0) != enc_js(t, 0)]
    print(f"{d}: tokenizer.json vs spiece.model with {spec}: {len(bad)} of {len(texts)} texts differ"
          + (f", e.g. {bad[0][:60]!r}" if bad else ""), file=sys.stderr)


def check_transformers(texts, specs):
    """check_transformers prints how often transformers' fast tokenizer (truncation=True,
    max_length=max) disagrees with the tokenizers reference the fixtures hold."""
    from transformers import PreTrainedTokenizerFast
    for name, d, spec in specs:
        if spec["type"] != "tokenizers":
            continue
        tf = PreTrainedTokenizerFast(tokenizer_file=os.path.join(HERE, d, spec["file"]))
        encode, _, _ = reference(d, spec)
        n = bad = 0
        for i, t in enumerate(texts[::5]):
            for mx in [0] + TRUNC_MAXES:
                kw = {"truncation": True, "max_length": mx} if mx else {}
                n += 1
                bad += tf(t, **kw)["input_ids"] != encode(t, mx)
        print(f"{name}: transformers vs tokenizers: {bad} of {n} encodings differ", file=sys.stderr)


def gzip_out(path):
    """gzip_out opens path for gzip text output without a time stamp, so that the same content
    gives the same file."""
    return io.TextIOWrapper(gzip.GzipFile(path, "wb", compresslevel=9, mtime=0), encoding="utf-8")


def write_fixtures(texts, specs):
    with gzip_out(os.path.join(HERE, "texts.jsonl.gz")) as f:
        for t in texts:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    for name, d, spec in specs:
        encode, pieces, decode = reference(d, spec)
        n_err = 0
        with gzip_out(os.path.join(HERE, f"{name}.jsonl.gz")) as f:
            s = dict(spec)
            s["dir"] = d
            f.write(json.dumps({"spec": s}) + "\n")
            for i, t in enumerate(texts):
                ids = encode(t, 0)
                rec = {"i": i, "ids": ids}
                dec = decode(ids)
                if dec != t:  # absent: the decoded text is the text itself
                    rec["decoded"] = dec
                p = pieces(t)
                at = next((k for k in range(len(ids) - len(p) + 1) if ids[k:k + len(p)] == p), -1)
                if at >= 0:  # pieces are ids[at:at+n]: stored as two numbers to keep the fixture small
                    rec["pieces_at"], rec["pieces_n"] = at, len(p)
                else:
                    rec["pieces"] = p
                if i % 10 == 0 or len(ids) > 256:
                    rec["trunc"] = {}
                    for mx in TRUNC_MAXES:
                        try:
                            rec["trunc"][str(mx)] = encode(t, mx)
                        except Exception as e:  # recorded: Go must fail too
                            n_err += 1
                            rec["trunc"][str(mx)] = None
                f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        print(f"{name}: {len(texts)} texts, {n_err} truncation errors", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", action="store_true", help="retrain the small test tokenizers first")
    ap.add_argument("--check-transformers", action="store_true",
                    help="also check that transformers' fast tokenizer gives the reference ids")
    ap.add_argument("--model", action="append", default=[], help="NAME=DIR of a sentio model directory")
    a = ap.parse_args()
    texts = read_texts()
    if a.train:
        corpus = []
        for lang in LANGS:
            for l in open(os.path.join(DATA, f"train.{lang}.jsonl"), encoding="utf-8"):
                r = json.loads(l)
                corpus += [r["text"], r["rationale"]]
        train(corpus)
    specs = tokenizer_specs(a.model)
    for _, d, spec in specs[7:]:
        check_same(texts, d, spec)
    if a.check_transformers:
        check_transformers(texts, specs)
    write_fixtures(texts, specs)


if __name__ == "__main__":
    main()
