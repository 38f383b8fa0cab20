"""Shared definitions of sentio's small whisper-architecture ASR model.

Everything that must agree between training (PyTorch) and inference (whisper.cpp) lives here:
the token layout of whisper's multilingual vocabulary (n_vocab 51865), the character vocabulary,
the log-mel front end computed exactly as whisper.cpp computes it, and the model itself.
"""

import json
import math
import os
import unicodedata

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
LANGS = ["vi", "en", "zh", "de", "fr"]

# --- whisper.cpp's multilingual token layout (n_vocab = 51865) ---------------------------------
# whisper.cpp (src/whisper.cpp, whisper_vocab + whisper_model_load) starts from the English ids
# (eot 50256, sot 50257, translate 50357, transcribe 50358, solm 50359, prev 50360, nosp 50361,
# not 50362, beg 50363) and, for a multilingual vocabulary (n_vocab 51865, 99 languages), adds 1 to
# each; this is OpenAI's multilingual layout. Verified against libwhisper 1.9.5 with
# whisper_token_transcribe() == 50359, whisper_token_not() == 50363, whisper_token_beg() == 50364.
N_VOCAB = 51865
TOKEN_EOT = 50257
TOKEN_SOT = 50258
TOKEN_TRANSLATE = 50358
TOKEN_TRANSCRIBE = 50359
TOKEN_SOLM = 50360
TOKEN_PREV = 50361
TOKEN_NOSP = 50362
TOKEN_NOT = 50363
TOKEN_BEG = 50364  # <|0.00|>; timestamp k (k * 20 ms) is TOKEN_BEG + k
# whisper.cpp's g_lang ids: language token = TOKEN_SOT + 1 + id
WHISPER_LANG_ID = {"en": 0, "zh": 1, "de": 2, "fr": 6, "vi": 19}
LANG_TOKEN = {l: TOKEN_SOT + 1 + WHISPER_LANG_ID[l] for l in LANGS}
TEXT_LIMIT = 50257  # text tokens must have ids below the first special token (eot)

# --- audio front end (whisper.cpp log_mel_spectrogram) -------------------------------------------
SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
N_MELS = 80


def mel_filters(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS):
    """mel_filters returns Slaney-style mel filters (n_mels, 1 + n_fft/2), like librosa's default."""
    n_freq = n_fft // 2 + 1
    fftfreqs = np.linspace(0, sr / 2, n_freq)

    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        f_sp = 200.0 / 3
        mels = f / f_sp
        min_log_hz = 1000.0
        min_log_mel = min_log_hz / f_sp
        logstep = np.log(6.4) / 27.0
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, mels)

    def mel_to_hz(m):
        m = np.asarray(m, dtype=np.float64)
        f_sp = 200.0 / 3
        freqs = f_sp * m
        min_log_hz = 1000.0
        min_log_mel = min_log_hz / f_sp
        logstep = np.log(6.4) / 27.0
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)

    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    weights = np.zeros((n_mels, n_freq))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, None]
    return weights.astype(np.float32)


class LogMel(nn.Module):
    """LogMel computes whisper.cpp's normalised log-mel spectrogram of zero-padded audio.

    whisper.cpp pads the samples with 30 s of zeros, reflect-pads 200 samples at the start, takes
    frames of 400 samples every 160 with a periodic Hann window, |FFT|^2, the mel filters,
    log10(max(x, 1e-10)), clamps to (max - 8) and maps x -> (x + 4) / 4. The encoder then reads
    2 * audio_ctx frames. forward(audio (B, N)) returns (B, 80, n_frames) for n_frames frames,
    assuming every clip is shorter than the window (so the max over the window is the max overall).
    """

    def __init__(self, n_frames):
        super().__init__()
        self.n_frames = n_frames
        self.register_buffer("window", torch.hann_window(N_FFT, periodic=True), persistent=False)
        self.register_buffer("filters", torch.from_numpy(mel_filters()), persistent=False)

    def forward(self, audio, n_frames=None):
        n_frames = n_frames or self.n_frames
        need = n_frames * HOP + N_FFT
        if audio.shape[1] < need:
            audio = F.pad(audio, (0, need - audio.shape[1]))
        audio = audio[:, :need]
        spec = torch.stft(audio, N_FFT, HOP, window=self.window, center=True, pad_mode="reflect", return_complex=True)
        power = spec.real**2 + spec.imag**2
        power = power[:, :, :n_frames]
        mel = torch.matmul(self.filters, power)
        logm = torch.log10(torch.clamp(mel, min=1e-10))
        mmax = logm.amax(dim=(1, 2), keepdim=True)
        logm = torch.maximum(logm, mmax - 8.0)
        return (logm + 4.0) / 4.0


# --- text ---------------------------------------------------------------------------------------


def normalize_text(s):
    """normalize_text gives the canonical (NFC, single-spaced, typographic-apostrophe-free) form."""
    s = unicodedata.normalize("NFC", s).replace("\u2019", "'").strip()
    return " ".join(s.split())


def read_sentences(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(normalize_text(line))
    return out


def load_corpus(root=None):
    """load_corpus returns {lang: [sentences]} for the corpus and for the held-out sentences."""
    root = root or os.path.join(HERE, "corpus")
    corpus = {l: read_sentences(os.path.join(root, f"{l}.txt")) for l in LANGS}
    heldout = {l: read_sentences(os.path.join(root, "heldout", f"{l}.txt")) for l in LANGS}
    return corpus, heldout


class Vocab:
    """Vocab is the model's compact token set and its mapping to whisper ids.

    Text tokens are single Unicode characters (their UTF-8 bytes are the ggml vocabulary entry),
    given whisper ids 0..n_chars-1; id 0 is always " " (whisper.cpp's suppress_blank looks it up).
    The compact index space used in training is: chars, then eot, sot, the five language tokens,
    transcribe, notimestamps, nospeech, then timestamps 0..n_ts-1.
    """

    def __init__(self, chars, n_ts):
        assert chars[0] == " "
        self.chars = list(chars)
        self.n_ts = n_ts
        specials = [TOKEN_EOT, TOKEN_SOT] + [LANG_TOKEN[l] for l in LANGS] + [TOKEN_TRANSCRIBE, TOKEN_NOT, TOKEN_NOSP]
        self.whisper_ids = list(range(len(self.chars))) + specials + [TOKEN_BEG + k for k in range(n_ts)]
        self.to_compact = {w: i for i, w in enumerate(self.whisper_ids)}
        self.char_index = {c: i for i, c in enumerate(self.chars)}
        self.n_chars = len(self.chars)
        self.size = len(self.whisper_ids)
        assert self.n_chars < TEXT_LIMIT

    @staticmethod
    def build(sentences, n_ts):
        chars = set()
        for s in sentences:
            chars.update(s)
        chars.discard(" ")
        return Vocab([" "] + sorted(chars), n_ts)

    def c(self, whisper_id):
        return self.to_compact[whisper_id]

    def encode_text(self, s):
        return [self.char_index[ch] for ch in s if ch in self.char_index]

    def decode(self, compact_ids):
        return "".join(self.chars[i] for i in compact_ids if i < self.n_chars)

    def to_json(self):
        return {"chars": self.chars, "n_ts": self.n_ts}

    @staticmethod
    def from_json(d):
        return Vocab(d["chars"], d["n_ts"])


# --- model ---------------------------------------------------------------------------------------


class MultiHeadAttention(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.n_head = n_head
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d, bias=False)
        self.value = nn.Linear(d, d)
        self.out = nn.Linear(d, d)

    def forward(self, x, xa=None, causal=False, kv_cache=None):
        q = self.query(x)
        src = x if xa is None else xa
        if kv_cache is not None and xa is not None and "k" in kv_cache:
            k, v = kv_cache["k"], kv_cache["v"]
        else:
            k, v = self.key(src), self.value(src)
            if kv_cache is not None and xa is not None:
                kv_cache["k"], kv_cache["v"] = k, v
        has_past = False
        if kv_cache is not None and xa is None:
            if "k" in kv_cache:
                has_past = True
                k = torch.cat([kv_cache["k"], k], dim=1)
                v = torch.cat([kv_cache["v"], v], dim=1)
            kv_cache["k"], kv_cache["v"] = k, v
        B, T, D = q.shape
        h = self.n_head
        q = q.view(B, T, h, D // h).transpose(1, 2)
        k = k.view(B, k.shape[1], h, D // h).transpose(1, 2)
        v = v.view(B, v.shape[1], h, D // h).transpose(1, 2)
        # causal within a block of new tokens; a block after cached tokens is always a single token
        assert not (causal and has_past and T > 1), "multi-token decoding after a cache is not supported"
        o = F.scaled_dot_product_attention(q, k, v, is_causal=causal and T > 1)
        return self.out(o.transpose(1, 2).reshape(B, T, D))


def gelu(x):
    # ggml_gelu is the tanh approximation
    return F.gelu(x, approximate="tanh")


class Block(nn.Module):
    def __init__(self, d, n_head, cross):
        super().__init__()
        self.attn = MultiHeadAttention(d, n_head)
        self.attn_ln = nn.LayerNorm(d)
        self.cross_attn = MultiHeadAttention(d, n_head) if cross else None
        self.cross_attn_ln = nn.LayerNorm(d) if cross else None
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.Identity(), nn.Linear(4 * d, d))
        self.mlp_ln = nn.LayerNorm(d)

    def forward(self, x, xa=None, causal=False, cache=None):
        x = x + self.attn(self.attn_ln(x), causal=causal, kv_cache=None if cache is None else cache.setdefault("self", {}))
        if self.cross_attn is not None:
            x = x + self.cross_attn(self.cross_attn_ln(x), xa, kv_cache=None if cache is None else cache.setdefault("cross", {}))
        m = self.mlp
        x = x + m[2](gelu(m[0](self.mlp_ln(x))))
        return x


def sinusoids(length, channels, max_timescale=10000):
    log_timescale_increment = np.log(max_timescale) / (channels // 2 - 1)
    inv_timescales = torch.exp(-log_timescale_increment * torch.arange(channels // 2))
    scaled_time = torch.arange(length)[:, None] * inv_timescales[None, :]
    return torch.cat([torch.sin(scaled_time), torch.cos(scaled_time)], dim=1)


class AudioEncoder(nn.Module):
    def __init__(self, n_mels, n_ctx, d, n_head, n_layer):
        super().__init__()
        self.conv1 = nn.Conv1d(n_mels, d, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(d, d, kernel_size=3, stride=2, padding=1)
        self.register_buffer("positional_embedding", sinusoids(n_ctx, d))
        self.blocks = nn.ModuleList([Block(d, n_head, cross=False) for _ in range(n_layer)])
        self.ln_post = nn.LayerNorm(d)

    def forward(self, mel):
        x = gelu(self.conv1(mel))
        x = gelu(self.conv2(x))
        x = x.permute(0, 2, 1)
        x = x + self.positional_embedding[: x.shape[1]]
        for b in self.blocks:
            x = b(x)
        return self.ln_post(x)


class TextDecoder(nn.Module):
    """TextDecoder is whisper's decoder over the compact vocabulary.

    The final layer norm's last channel is pinned to a constant 1 (weight 0, bias 1): exported rows
    of whisper ids the model never uses get the value -UNUSED_SCORE in that channel and zeros
    elsewhere, so their logit is exactly -UNUSED_SCORE in whisper.cpp and they can never win.
    """

    def __init__(self, n_vocab, n_ctx, d, n_head, n_layer):
        super().__init__()
        self.token_embedding = nn.Embedding(n_vocab, d)
        self.positional_embedding = nn.Parameter(torch.empty(n_ctx, d).normal_(0, 0.01))
        self.blocks = nn.ModuleList([Block(d, n_head, cross=True) for _ in range(n_layer)])
        self.ln = nn.LayerNorm(d)
        nn.init.normal_(self.token_embedding.weight, 0, 0.02)
        self.pin()

    @torch.no_grad()
    def pin(self):
        self.ln.weight[-1] = 0.0
        self.ln.bias[-1] = 1.0

    def forward(self, tokens, xa, offset=0, cache=None):
        x = self.token_embedding(tokens) + self.positional_embedding[offset : offset + tokens.shape[1]]
        for i, b in enumerate(self.blocks):
            x = b(x, xa, causal=True, cache=None if cache is None else cache.setdefault(i, {}))
        x = self.ln(x)
        return x @ self.token_embedding.weight.T


class Whisper(nn.Module):
    def __init__(self, dims, vocab_size):
        super().__init__()
        self.dims = dict(dims)
        d = dims["d"]
        self.encoder = AudioEncoder(N_MELS, dims["audio_ctx"], d, dims["n_head"], dims["enc_layers"])
        self.decoder = TextDecoder(vocab_size, dims["text_ctx"], d, dims["n_head"], dims["dec_layers"])
        # CTC head on the encoder (training aid only, not exported): chars + blank
        self.ctc = nn.Linear(d, dims["n_chars"] + 1)

    def forward(self, mel, tokens):
        xa = self.encoder(mel)
        return self.decoder(tokens, xa), xa


SUPPRESS_ALWAYS = ("sot", "lang", "transcribe", "not", "nosp")


@torch.no_grad()
def greedy_decode(model, vocab, mel, lang=None, timestamps=False, max_len=120):
    """greedy_decode mirrors whisper.cpp's greedy decoding (temperature 0) for one window.

    Returns (lang, lang_probs over LANGS, text, token list). Language detection, like whisper.cpp's
    whisper_lang_auto_detect, takes the argmax of the language-token logits after <|startoftranscript|>.
    """
    model.eval()
    xa = model.encoder(mel[None])
    c = vocab.c
    sot = torch.tensor([[c(TOKEN_SOT)]])
    logits = model.decoder(sot, xa)[0, -1]
    lang_logits = torch.stack([logits[c(LANG_TOKEN[l])] for l in LANGS])
    lang_probs = torch.softmax(lang_logits, 0)
    if lang is None:
        lang = LANGS[int(lang_probs.argmax())]
    prompt = [c(TOKEN_SOT), c(LANG_TOKEN[lang]), c(TOKEN_TRANSCRIBE)] + ([] if timestamps else [c(TOKEN_NOT)])
    cache = {}
    toks = torch.tensor([prompt])
    out = []
    offset = 0
    ts_first = vocab.size - vocab.n_ts  # compact index of <|0.00|>
    banned = [c(TOKEN_SOT), c(TOKEN_TRANSCRIBE), c(TOKEN_NOT), c(TOKEN_NOSP)] + [c(LANG_TOKEN[l]) for l in LANGS]
    for step in range(max_len):
        logits = model.decoder(toks, xa, offset=offset, cache=cache)[0, -1].clone()
        offset += toks.shape[1]
        logits[banned] = -float("inf")
        if step == 0:
            logits[c(TOKEN_EOT)] = -float("inf")
            logits[0] = -float("inf")  # " " is char index 0 (whisper.cpp suppress_blank)
        if not timestamps:
            logits[ts_first:] = -float("inf")
        else:
            last_ts = len(out) > 0 and out[-1] >= ts_first
            pen_ts = len(out) < 2 or out[-2] >= ts_first
            if last_ts:
                if pen_ts:
                    logits[ts_first:] = -float("inf")
                else:
                    logits[: c(TOKEN_EOT)] = -float("inf")
            # whisper.cpp: if the total timestamp probability beats every other token, take a timestamp
            lp = torch.log_softmax(logits, 0)
            ts_lp = torch.logsumexp(lp[ts_first:], 0)
            if ts_lp > lp[:ts_first].max():
                logits[:ts_first] = -float("inf")
        nxt = int(logits.argmax())
        out.append(nxt)
        if nxt == c(TOKEN_EOT):
            break
        toks = torch.tensor([[nxt]])
    text = vocab.decode([t for t in out if t < vocab.n_chars])
    return lang, lang_probs.tolist(), text, out


# --- metrics -------------------------------------------------------------------------------------


def cer_normalize(s):
    """cer_normalize lowercases and drops punctuation/spaces so CER counts only spoken characters."""
    s = unicodedata.normalize("NFC", s).lower()
    return "".join(ch for ch in s if unicodedata.category(ch)[0] in ("L", "N"))


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return prev[-1]


def save_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
