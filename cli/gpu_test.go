package cli_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentio-health/sentio/internal/testenv"
)

// TestTranscribeOnVulkan: `sentio transcribe --set asr.use_gpu=true` with Mesa's software Vulkan
// device made visible to ggml (GGML_VK_VISIBLE_DEVICES=0) says on standard error that the model
// is on Vulkan0, and prints the same transcript as on the CPU for a sentence of the bundled
// model's corpus (out-of-corpus speech may differ by a token: see asr's TestVulkanSameTextAsCPU);
// without the variable it says nothing about the device (the CPU, which ggml falls back to).
func TestTranscribeOnVulkan(t *testing.T) {
	dir := t.TempDir()
	raw, clip := filepath.Join(dir, "raw.wav"), filepath.Join(dir, "en.wav")
	testenv.Espeak(t, raw, testenv.CorpusSentence(t, "en.txt", 0), "-v", "en-us+f2", "-s", "175")
	if b, err := exec.Command("sox", raw, "-r", "16000", "-c", "1", "-b", "16", clip, "pad", "0.3", "0.5").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, b)
	}
	cpuOut, cpuErr, code := sentio(t, nil, "transcribe", "--set", "asr.use_gpu=true", clip)
	if code != 0 {
		t.Fatalf("on the CPU: exit %d: %s", code, cpuErr)
	}
	if strings.Contains(cpuErr, "model on") {
		t.Errorf("without a GPU device, stderr names one:\n%s", cpuErr)
	}
	gpuOut, gpuErr, code := sentio(t, []string{"GGML_VK_VISIBLE_DEVICES=0"}, "transcribe", "--set", "asr.use_gpu=true", clip)
	if code != 0 {
		t.Fatalf("on Vulkan: exit %d: %s", code, gpuErr)
	}
	if n := strings.Count(gpuErr, "sentio: asr: model on Vulkan0 (llvmpipe"); n != 1 {
		t.Errorf("want one line naming Vulkan0 (llvmpipe) on stderr, got %d:\n%s", n, gpuErr)
	}
	if gpuOut != cpuOut || strings.TrimSpace(cpuOut) == "" {
		t.Errorf("transcript on Vulkan %q, on the CPU %q", gpuOut, cpuOut)
	}
}
