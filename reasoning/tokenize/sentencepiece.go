package tokenize

/*
#cgo CXXFLAGS: -std=c++17
#cgo LDFLAGS: -lsentencepiece -labsl_status -lstdc++
#include <stdlib.h>
#include "spshim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// sentencePiece is the "sentencepiece" backend: libsentencepiece through cgo.
type sentencePiece struct {
	path    string
	spec    Spec
	size    int64          // pieces in the model
	special map[int64]bool // prefix and suffix ids, skipped by Decode
	mu      sync.RWMutex   // guards p against Close while encoding
	p       *C.spshim
}

func openSentencePiece(path string, s Spec) (*sentencePiece, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var cerr *C.char
	p := C.spshim_load(cpath, C.size_t(len(path)), &cerr)
	if p == nil {
		return nil, fmt.Errorf("tokenizer: %s is not a SentencePiece model (%s): transformer.tokenizer.type %q needs a spiece.model; for a tokenizer.json use type %q", path, takeCString(cerr), TypeSentencePiece, TypeTokenizers)
	}
	sp := &sentencePiece{path: path, spec: s, size: int64(C.spshim_size(p)), special: map[int64]bool{}, p: p}
	for _, id := range append(append([]int64{}, s.PrefixIDs...), s.SuffixIDs...) {
		sp.special[id] = true
	}
	if s.IDOffset < 0 {
		sp.Close()
		return nil, fmt.Errorf("tokenizer: transformer.tokenizer.id_offset is %d for %s: it must be 0 or more", s.IDOffset, path)
	}
	return sp, nil
}

// takeCString returns the Go copy of a C string from the shim and frees it.
func takeCString(c *C.char) string {
	if c == nil {
		return "unknown error"
	}
	defer C.free(unsafe.Pointer(c))
	return C.GoString(c)
}

var errClosed = errors.New("tokenizer: used after Close")

// EncodePieces returns the ids of text without special tokens and without truncation.
func (sp *sentencePiece) EncodePieces(text string) ([]int64, error) {
	if sp.spec.Lowercase {
		// Python's str.lower: full case mapping (İ → i̇) and final sigma, which strings.ToLower lacks.
		text = cases.Lower(language.Und).String(text)
	}
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	if sp.p == nil {
		return nil, errClosed
	}
	var (
		cids *C.int32_t
		n    C.size_t
		cerr *C.char
	)
	// The text's bytes are passed with their length (NUL bytes and all are encoded, as Python
	// does), without a copy: the C side only reads them during the call.
	var ctext *C.char
	if len(text) > 0 {
		ctext = (*C.char)(unsafe.Pointer(unsafe.StringData(text)))
	}
	if C.spshim_encode(sp.p, ctext, C.size_t(len(text)), &cids, &n, &cerr) != 0 {
		return nil, fmt.Errorf("tokenizer: %s: encode: %s", sp.path, takeCString(cerr))
	}
	defer C.free(unsafe.Pointer(cids))
	ids := make([]int64, int(n))
	for i, id := range unsafe.Slice((*int32)(unsafe.Pointer(cids)), int(n)) {
		ids[i] = int64(id) + sp.spec.IDOffset
	}
	return ids, nil
}

// Encode returns prefix_ids, the pieces' ids (truncated so that the whole has at most max ids) and
// suffix_ids.
func (sp *sentencePiece) Encode(text string, max int) ([]int64, error) {
	pieces, err := sp.EncodePieces(text)
	if err != nil {
		return nil, err
	}
	if pieces, err = truncate(sp.path, pieces, max, len(sp.spec.PrefixIDs)+len(sp.spec.SuffixIDs)); err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(sp.spec.PrefixIDs)+len(pieces)+len(sp.spec.SuffixIDs))
	ids = append(ids, sp.spec.PrefixIDs...)
	ids = append(ids, pieces...)
	return append(ids, sp.spec.SuffixIDs...), nil
}

// Decode returns the text of ids, prefix and suffix ids and the model's control pieces skipped.
func (sp *sentencePiece) Decode(ids []int64) (string, error) {
	pieces := make([]C.int32_t, 0, len(ids))
	for _, id := range ids {
		if sp.special[id] {
			continue
		}
		p := id - sp.spec.IDOffset
		if p < 0 || p >= sp.size {
			return "", fmt.Errorf("tokenizer: %s: id %d is out of range (pieces 0..%d, id_offset %d): the ids are not from this model", sp.path, id, sp.size-1, sp.spec.IDOffset)
		}
		pieces = append(pieces, C.int32_t(p))
	}
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	if sp.p == nil {
		return "", errClosed
	}
	var (
		out  *C.char
		n    C.size_t
		cerr *C.char
		ptr  *C.int32_t
	)
	if len(pieces) > 0 {
		ptr = (*C.int32_t)(C.malloc(C.size_t(len(pieces)) * 4))
		defer C.free(unsafe.Pointer(ptr))
		copy(unsafe.Slice((*C.int32_t)(ptr), len(pieces)), pieces)
	}
	if C.spshim_decode(sp.p, ptr, C.size_t(len(pieces)), &out, &n, &cerr) != 0 {
		return "", fmt.Errorf("tokenizer: %s: decode: %s", sp.path, takeCString(cerr))
	}
	defer C.free(unsafe.Pointer(out))
	return C.GoStringN(out, C.int(n)), nil
}

// Close frees the model; later calls return an error.
func (sp *sentencePiece) Close() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.p != nil {
		C.spshim_free(sp.p)
		sp.p = nil
	}
	return nil
}
