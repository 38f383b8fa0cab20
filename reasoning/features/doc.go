// Package features computes the input features of the reasoning model exactly as its Python
// trainer does (models/reasoning/features.py): hashed word and character n-grams of the
// normalised, lower-cased text, each with its count and the character spans of the original text
// it covers.
//
// The specification is the "features" object of the model's manifest (model.json); ParseSpec reads
// it and refuses values this package does not implement, so a model trained with another scheme is
// never fed wrong features. The steps, for a text (offsets are Unicode code points, i.e. indices
// into []rune(text), like Python str indices):
//
//  1. Normalisation by segment: the text is cut before every code point with canonical combining
//     class 0; each segment is NFC-normalised on its own and every resulting code point maps back
//     to its whole original segment.
//  2. Lower-casing by code point with the Unicode simple lowercase mapping (unicode.ToLower).
//  3. Word characters: general category L, M or N, or inside the spec's CJK ranges. Tokens: each
//     CJK code point alone, maximal runs of the other word characters, and (PunctTokens) each
//     punctuation or symbol code point (category P or S) alone. Runs: maximal runs of word
//     characters (CharRuns "word") or of word, punctuation and symbol code points ("word_punct").
//  4. Word n-grams: n consecutive tokens joined with one space, hashed as "w:"+gram. Char n-grams:
//     substrings of exactly n code points of " "+run+" ", hashed as "c:"+gram.
//  5. id = offset + FNV-1a-64(UTF-8 bytes) mod buckets, per kind (word ids first, id 0 is padding).
//  6. One Feature per distinct id with Value = occurrence count and the distinct spans it covers,
//     sorted by id.
//
// Invalid UTF-8 bytes count as one code point each (U+FFFD), as []rune conversion does.
package features
