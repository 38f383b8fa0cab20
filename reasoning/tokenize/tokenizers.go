package tokenize

import (
	"fmt"

	"github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/pretrained"
)

// hfTokenizer is the "tokenizers" backend: a Hugging Face tokenizer.json run by
// github.com/sugarme/tokenizer.
type hfTokenizer struct {
	path string
	tk   *tokenizer.Tokenizer
	// nSpecial is how many special ids the post-processor adds to one sequence.
	nSpecial int
}

// openTokenizers loads a tokenizer.json; with force it loads even a file whose features the
// library does not run at parity (for the tests that measure the gaps).
func openTokenizers(path string, force bool) (_ *hfTokenizer, err error) {
	// The library panics on some malformed files instead of returning an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tokenizer: %s cannot be loaded (%v): it must be a Hugging Face tokenizer.json (tokenizer.save() or save_pretrained()); for a SentencePiece model use type %q", path, r, TypeSentencePiece)
		}
	}()
	f, err := readTokenizerFile(path)
	if err != nil {
		return nil, err
	}
	if why := f.unsupported(); why != "" && !force {
		return nil, fmt.Errorf("tokenizer: %s: github.com/sugarme/tokenizer does not give the ids Python tokenizers gives for %s: if the model has a SentencePiece model (spiece.model, sentencepiece.bpe.model), set transformer.tokenizer to {\"file\": \"spiece.model\", \"type\": %q} with its prefix_ids and suffix_ids", path, why, TypeSentencePiece)
	}
	tk, err := pretrained.FromFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s cannot be loaded (%v): it must be a Hugging Face tokenizer.json (tokenizer.save() or save_pretrained()) with a WordPiece, BPE, Unigram or WordLevel model; for a SentencePiece model use type %q", path, err, TypeSentencePiece)
	}
	// Truncation comes from the manifest (Encode's max), and padding is the runtime's business:
	// whatever the file says about them is ignored, as transformers does when told max_length.
	tk.WithTruncation(nil)
	tk.WithPadding(nil)
	if f.Normalizer != nil && f.Normalizer["type"] == "BertNormalizer" {
		tk.WithNormalizer(newBertNormalizer(f.Normalizer))
	}
	h := &hfTokenizer{path: path, tk: tk}
	if pp := tk.GetPostProcessor(); pp != nil {
		h.nSpecial = pp.AddedTokens(false)
	}
	return h, nil
}

// encoding returns the library's encoding of text before post-processing (no special tokens).
func (h *hfTokenizer) encoding(text string) (enc *tokenizer.Encoding, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tokenizer: %s: encoding %q failed: %v", h.path, clip(text), r)
		}
	}()
	enc, err = h.tk.EncodeSingleSequence(tokenizer.NewInputSequence(text), 0, tokenizer.Byte)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: encoding %q: %w", h.path, clip(text), err)
	}
	return enc, nil
}

// EncodePieces returns the ids of text without special tokens and without truncation.
func (h *hfTokenizer) EncodePieces(text string) ([]int64, error) {
	enc, err := h.encoding(text)
	if err != nil {
		return nil, err
	}
	return ids64(enc.Ids), nil
}

// Encode returns the ids of text through the file's post-processor (its special tokens), the
// pieces cut first so that the whole has at most max ids.
func (h *hfTokenizer) Encode(text string, max int) (_ []int64, err error) {
	enc, err := h.encoding(text)
	if err != nil {
		return nil, err
	}
	if max > 0 {
		kept, err := truncate(h.path, enc.Ids, max, h.nSpecial)
		if err != nil {
			return nil, err
		}
		if keep := len(kept); keep == 0 {
			enc = tokenizer.DefaultEncoding()
		} else if keep < len(enc.Ids) {
			if enc, err = enc.Truncate(keep, 0); err != nil {
				return nil, fmt.Errorf("tokenizer: %s: truncating to %d ids: %w", h.path, max, err)
			}
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tokenizer: %s: post-processing %q failed: %v", h.path, clip(text), r)
		}
	}()
	return ids64(h.tk.PostProcess(enc, nil, true).Ids), nil
}

// Decode returns the text of ids with the file's decoder, special tokens skipped; ids the
// vocabulary does not have are skipped, as Python tokenizers does.
func (h *hfTokenizer) Decode(ids []int64) (s string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tokenizer: %s: decoding %d ids failed: %v", h.path, len(ids), r)
		}
	}()
	in := make([]int, len(ids))
	for i, id := range ids {
		in[i] = int(id)
	}
	return h.tk.Decode(in, true), nil
}

// Close does nothing: the tokenizer holds no resources outside the Go heap.
func (h *hfTokenizer) Close() error { return nil }

func ids64(ids []int) []int64 {
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out
}

// clip shortens text for error messages.
func clip(text string) string {
	r := []rune(text)
	if len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return text
}
