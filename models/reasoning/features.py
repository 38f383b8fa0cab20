"""Feature extraction of the sentio reasoning model (the reference implementation).

The Go package reasoning/features implements the same specification (SPEC below, written into
model.json as "features") and must give identical ids, values and spans; the parity fixtures in
reasoning/testdata/parity check it.

Pipeline, for a text t (a Python str = a sequence of Unicode code points):

1. Normalisation, segment by segment. t is cut into segments: a segment starts at every code
   point whose canonical combining class is 0 (and at index 0) and runs to the next such code
   point. Each segment is NFC-normalised on its own; every code point of the normalised segment
   maps back to the whole original segment [seg_start, seg_end) (code point offsets into t).
   This equals NFC of the whole text except for conjoining Hangul jamo and a few Indic two-part
   vowels, which stay uncomposed; none occur in the five languages.
2. Lower-casing, code point by code point, with the Unicode simple lowercase mapping (Go's
   unicode.ToLower; in Python: c.lower() when that is one code point, U+0130 -> U+0069, otherwise
   c unchanged). It never changes the number of code points.
3. Word characters are the code points whose general category is L*, M* or N*, and those in the
   spec's CJK ranges (so CJK ideographs newer than a runtime's Unicode tables still count).
   Tokens, in text order: every code point in the CJK ranges is a token by itself; the other word
   characters form tokens as maximal runs of non-CJK word characters; with punct_tokens, every
   punctuation or symbol code point (general category P* or S*) is a token by itself.
   Runs (for char n-grams): maximal runs of word characters (char_runs "word") or of word,
   punctuation and symbol code points (char_runs "word_punct").
4. Word n-grams: for n in word_ngrams [lo, hi], every n consecutive tokens (across punctuation and
   runs), joined with one space U+0020; the hashed string is "w:" + gram.
   Char n-grams: for each run r, p = " " + r + " " (one space of padding on each side); for n in
   char_ngrams [lo, hi], every substring of p of exactly n code points (none when len(p) < n);
   the hashed string is "c:" + gram.
5. Hash: FNV-1a 64-bit of the UTF-8 bytes of the hashed string (offset basis
   14695981039346656037, prime 1099511628211). id = offset + (hash mod buckets), with the offset
   and buckets of the gram's kind (word ids first, then char ids; id 0 is padding).
6. A feature per distinct id: value = the number of n-gram occurrences with that id (a raw count;
   sublinear tf, idf and L2 row normalisation live inside the ONNX graph); spans = the distinct
   [start, end) code point ranges of the ORIGINAL text covered by those occurrences (a word gram:
   from its first token's first code point to its last token's last code point; a char gram: its
   non-padding code points), sorted by (start, end). Features are sorted by id.
"""

from __future__ import annotations

import unicodedata

FNV64_OFFSET = 14695981039346656037
FNV64_PRIME = 1099511628211
MASK64 = (1 << 64) - 1

SPEC = {
    "normalization": "nfc-per-segment",
    "normalization_doc": (
        "Cut the text before every code point with canonical combining class 0; NFC-normalise "
        "each segment alone; each output code point maps to its whole original segment."
    ),
    "lowercase": "simple",
    "lowercase_doc": (
        "Unicode simple lowercase mapping per code point (Go unicode.ToLower; Python c.lower() when "
        "it is a single code point, U+0130 -> U+0069, else unchanged); length-preserving."
    ),
    "word_chars": "general category L*, M* or N*, or in cjk_ranges",
    "cjk_ranges": [[0x3400, 0x4DBF], [0x4E00, 0x9FFF], [0xF900, 0xFAFF], [0x20000, 0x3FFFF]],
    "tokenization": (
        "tokens in text order: each code point in cjk_ranges alone; maximal runs of other word characters; "
        "if punct_tokens, each code point of category P* or S* alone. runs (for char n-grams): maximal runs of "
        "word characters (char_runs word) or of word, P* and S* code points (char_runs word_punct)."
    ),
    "word_ngrams": [1, 2],
    "word_join": " ",
    "word_prefix": "w:",
    "punct_tokens": True,
    "char_runs": "word_punct",
    "char_ngrams": [2, 5],
    "char_ngrams_over": "each run padded with one U+0020 on each side (word-bounded); only grams of exactly n code points",
    "char_prefix": "c:",
    "hash": "fnv1a64",
    "hash_input": "UTF-8 bytes of prefix + gram",
    "word_buckets": 1048576,
    "word_offset": 1,
    "char_buckets": 262144,
    "char_offset": 1048577,
    "num_ids": 1310721,
    "padding_id": 0,
    "value": "count",
    "value_doc": (
        "one feature per distinct id, value = number of occurrences (float32), features sorted by "
        "id ascending, spans = distinct original-text [start, end) code point ranges sorted"
    ),
    "graph_value_transform": (
        "inside the ONNX graph: x = (1 + ln(value)) * idf[id] for value > 0 else 0; x is L2-normalised "
        "separately over word ids (< char_offset) and char ids (>= char_offset) of the row"
    ),
    "offsets": "Unicode code points of the original input text, [start, end)",
}


def fnv1a64(s: str) -> int:
    h = FNV64_OFFSET
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * FNV64_PRIME) & MASK64
    return h


def _lower(c: str) -> str:
    if c == "\u0130":
        return "i"
    lc = c.lower()
    return lc if len(lc) == 1 else c


def normalize(text: str):
    """normalize returns the normalised, lower-cased code points and, per code point, the
    original [start, end) range it comes from."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    n = len(text)
    i = 0
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]) != 0:
            j += 1
        seg = unicodedata.normalize("NFC", text[i:j])
        for c in seg:
            chars.append(_lower(c))
            starts.append(i)
            ends.append(j)
        i = j
    return chars, starts, ends


def _is_word(c: str, ranges) -> bool:
    return unicodedata.category(c)[0] in "LMN" or _is_cjk(c, ranges)


def _is_cjk(c: str, ranges) -> bool:
    o = ord(c)
    for lo, hi in ranges:
        if lo <= o <= hi:
            return True
    return False


def grams(text: str, spec: dict = SPEC):
    """grams yields (kind, gram, start, end) for every n-gram occurrence, with original-text
    code point offsets."""
    chars, starts, ends = normalize(text)
    ranges = spec["cjk_ranges"]
    punct_tokens = spec.get("punct_tokens", False)
    char_runs = spec.get("char_runs", "word")
    m = len(chars)
    # class of each code point: "w" word, "p" punctuation or symbol (P*, S*), "o" other
    cls = []
    for c in chars:
        if _is_word(c, ranges):
            cls.append("w")
        elif unicodedata.category(c)[0] in "PS":
            cls.append("p")
        else:
            cls.append("o")
    # tokens as [i, j) ranges over the normalised code points
    tokens = []
    i = 0
    while i < m:
        if cls[i] == "p" and punct_tokens:
            tokens.append((i, i + 1))
            i += 1
            continue
        if cls[i] != "w":
            i += 1
            continue
        j = i
        while j < m and cls[j] == "w":
            j += 1
        k = i
        while k < j:
            if _is_cjk(chars[k], ranges):
                tokens.append((k, k + 1))
                k += 1
            else:
                l = k
                while l < j and not _is_cjk(chars[l], ranges):
                    l += 1
                tokens.append((k, l))
                k = l
        i = j
    # runs: maximal runs of word code points (char_runs "word") or of word, punctuation and
    # symbol code points (char_runs "word_punct")
    inrun = ("w",) if char_runs == "word" else ("w", "p")
    runs = []
    i = 0
    while i < m:
        if cls[i] not in inrun:
            i += 1
            continue
        j = i
        while j < m and cls[j] in inrun:
            j += 1
        runs.append((i, j))
        i = j
    wlo, whi = spec["word_ngrams"]
    toks = ["".join(chars[a:b]) for a, b in tokens]
    for n in range(wlo, whi + 1):
        for t in range(0, len(tokens) - n + 1):
            g = spec["word_join"].join(toks[t:t + n])
            yield "w", g, starts[tokens[t][0]], ends[tokens[t + n - 1][1] - 1]
    clo, chi = spec["char_ngrams"]
    for a, b in runs:
        p = [" "] + chars[a:b] + [" "]
        L = len(p)
        for n in range(clo, chi + 1):
            for s in range(0, L - n + 1):
                g = "".join(p[s:s + n])
                first = max(s - 1, 0) + a  # first real code point covered
                last = min(s + n - 2, b - a - 1) + a  # last real code point covered
                yield "c", g, starts[first], ends[last]


def extract(text: str, spec: dict = SPEC):
    """extract returns [(id, value, [(start, end), ...]), ...] sorted by id."""
    acc: dict[int, list] = {}
    for kind, g, s, e in grams(text, spec):
        if kind == "w":
            fid = spec["word_offset"] + fnv1a64(spec["word_prefix"] + g) % spec["word_buckets"]
        else:
            fid = spec["char_offset"] + fnv1a64(spec["char_prefix"] + g) % spec["char_buckets"]
        ent = acc.get(fid)
        if ent is None:
            acc[fid] = [1, {(s, e)}]
        else:
            ent[0] += 1
            ent[1].add((s, e))
    return [(fid, float(acc[fid][0]), sorted(acc[fid][1])) for fid in sorted(acc)]
