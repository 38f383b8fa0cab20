// Package tokenize turns text into the ids a transformer model was trained on, and ids back into
// text, with the same results as the Python libraries the model was trained with.
//
// Two backends, chosen by the manifest's transformer.tokenizer.type:
//
//   - "sentencepiece": a SentencePiece model (spiece.model) run by Debian's libsentencepiece through
//     cgo, the C++ library that Python's sentencepiece wraps, so ids are the same by construction.
//     The manifest says which special ids go before and after the pieces (prefix_ids, suffix_ids),
//     an offset added to every piece id (id_offset) and whether text is lower-cased first.
//   - "tokenizers": a Hugging Face tokenizer.json (WordPiece, BPE, Unigram models with their
//     normalizers, pre-tokenizers, post-processor templates and decoders) run by the pure-Go
//     github.com/sugarme/tokenizer.
//
// Parity with Python (tokenizers 0.23, sentencepiece 0.2) is checked by the tests on the fixtures
// in reasoning/testdata/tokenize, written by make_fixtures.py there.
package tokenize
