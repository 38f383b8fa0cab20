package config

import (
	"strings"
	"testing"
)

func TestASRPrompt(t *testing.T) {
	clearEnv(t)
	c, err := Load(writeFile(t, "asr:\n  prompt: amoxicillin, ibuprofen, Saint Mary clinic\n"))
	if err != nil || c.ASR.Prompt != "amoxicillin, ibuprofen, Saint Mary clinic" {
		t.Fatalf("a prompt: %q, %v", c.ASR.Prompt, err)
	}
	_, err = Load(writeFile(t, "asr:\n  prompt: "+strings.Repeat("amoxicillin ", 50)+"\n"))
	mustFail(t, err, ":2: asr.prompt: is 599 bytes, more than the 512 allowed", "(allowed: at most 512 bytes of UTF-8 text without control characters)")
	_, err = Load(writeFile(t, "asr:\n  prompt: \"amoxicillin\\nibuprofen\"\n"))
	mustFail(t, err, ":2: asr.prompt: has a control character at byte 11")
}
