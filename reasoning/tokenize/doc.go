// Package tokenize turns text into the ids a transformer model was trained on, and ids back into
// text, with the same results as the Python libraries the model was trained with.
//
// Two backends, chosen by the manifest's transformer.tokenizer.type:
//
//   - "sentencepiece": a SentencePiece model (spiece.model) run by Debian's libsentencepiece through
//     cgo (spshim.cc), the C++ library that Python's sentencepiece wraps, so ids are the same by
//     construction. The manifest says which special ids go before and after the pieces
//     (prefix_ids, suffix_ids), an offset added to every piece id (id_offset) and whether text is
//     lower-cased first (as Python's str.lower). Any SentencePiece model type (Unigram, BPE, byte
//     fallback) is supported. This is the backend for T5 / mT5 / ViT5 / XLM-R style checkpoints.
//   - "tokenizers": a Hugging Face tokenizer.json run by the pure-Go github.com/sugarme/tokenizer,
//     at parity for WordPiece with BertNormalizer (BERT, PhoBERT-like; the library's BertNormalizer
//     is replaced by bertNormalizer) and byte-level BPE (RoBERTa, BART). Open refuses files whose
//     features the library gets wrong (a Unigram model, BPE with byte_fallback, a Precompiled
//     normalizer, a Regex Replace, a BertNormalizer inside a Sequence): their checkpoints carry a
//     SentencePiece model, to be used with type "sentencepiece".
//
// Known gap of the "tokenizers" backend: a special token's string written in the text ("<s>",
// "[SEP]") becomes the special id in Python and is dropped by the library.
//
// Truncation (Encode's max) cuts the pieces to max minus the special ids, as Python
// tokenizers/transformers do with truncation=True, max_length=max; a max below the number of
// special ids is an error.
//
// Parity with Python (tokenizers 0.23, sentencepiece 0.2) is checked by TestParityWithPython on
// the fixtures in reasoning/testdata/tokenize, written by make_fixtures.py there; speed against
// Python on the same texts by TestSpeedVsPython (train toolbox).
package tokenize
