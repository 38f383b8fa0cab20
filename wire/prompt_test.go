package wire

import (
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

func TestPromptHeader(t *testing.T) {
	h := nats.Header{}
	if p, err := PromptOf(h); p != "" || err != nil {
		t.Errorf("no header: %q, %v", p, err)
	}
	h.Set(HeaderPrompt, "  amoxicillin, Saint Mary clinic ")
	if p, err := PromptOf(h); p != "amoxicillin, Saint Mary clinic" || err != nil {
		t.Errorf("a prompt: %q, %v", p, err)
	}
	for name, v := range map[string]string{
		"too long":   strings.Repeat("amoxicillin ", 43), // 516 bytes
		"line break": "amoxicillin\nibuprofen",
		"not utf-8":  "caf\xe9",
	} {
		h.Set(HeaderPrompt, v)
		_, err := PromptOf(h)
		var he *HeaderError
		if !errors.As(err, &he) || he.Code != ReasonBadHeader || he.Header != HeaderPrompt {
			t.Errorf("%s: err = %v, want a bad_header error on %s", name, err, HeaderPrompt)
		}
	}
	h.Set(HeaderPrompt, strings.Repeat("x", MaxPromptBytes))
	if _, err := PromptOf(h); err != nil {
		t.Errorf("a prompt of exactly %d bytes: %v", MaxPromptBytes, err)
	}
	h.Set(HeaderPrompt, strings.Repeat("x", MaxPromptBytes+1))
	if _, err := PromptOf(h); err == nil || !strings.Contains(err.Error(), "513 bytes, more than the 512 allowed") {
		t.Errorf("a prompt of %d bytes: %v", MaxPromptBytes+1, err)
	}
}

func TestChunkCarriesPrompt(t *testing.T) {
	c := Chunk{CallID: "c", Seq: 0, Codec: CodecS16LE, Rate: 16000, Channels: 1, Offset: -1, Prompt: "amoxicillin"}
	got, err := ParseChunk(c.Header(), "sentio.audio.c")
	if err != nil || got.Prompt != "amoxicillin" {
		t.Fatalf("ParseChunk = %+v, %v", got, err)
	}
	h := c.Header()
	h.Set(HeaderPrompt, strings.Repeat("a", MaxPromptBytes+1))
	if _, err := ParseChunk(h, "sentio.audio.c"); err == nil {
		t.Error("a chunk with a too long prompt is accepted")
	}
}
