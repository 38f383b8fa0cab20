//go:build whisper

package asr

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentio-health/sentio/internal/testenv"
)

// gpuChildEnv marks the test binary re-run by runGPUChild: ggml enumerates Vulkan devices once
// per process, when its backends load (the first Open), so a test that needs
// GGML_VK_VISIBLE_DEVICES set or unset runs in a process of its own.
const gpuChildEnv = "SENTIO_ASR_GPU_CHILD"

// runGPUChild runs test name again in a child process of the test binary with
// GGML_VK_VISIBLE_DEVICES set to visible ("" removes it), relays its output and fails when it
// fails. It reports false in the child, where the test itself runs.
func runGPUChild(t *testing.T, name, visible string) bool {
	t.Helper()
	if os.Getenv(gpuChildEnv) != "" {
		return false
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GGML_VK_VISIBLE_DEVICES=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, gpuChildEnv+"=1")
	if visible != "" {
		cmd.Env = append(cmd.Env, "GGML_VK_VISIBLE_DEVICES="+visible)
	}
	out, err := cmd.CombinedOutput()
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		t.Log(l)
	}
	if err != nil {
		t.Fatalf("%s in a child process with GGML_VK_VISIBLE_DEVICES=%q: %v", name, visible, err)
	}
	return true
}

// speak synthesises text with espeak-ng in voice (175 words a minute) into dir/name.wav, 16 kHz
// mono with 0.3 s of silence before and 0.5 s after, and returns its samples.
func speak(t testing.TB, dir, name, text, voice string) []float32 {
	t.Helper()
	raw, wav := filepath.Join(dir, name+".raw.wav"), filepath.Join(dir, name+".wav")
	testenv.Espeak(t, raw, text, "-v", voice, "-s", "175")
	if b, err := exec.Command("sox", raw, "-r", "16000", "-c", "1", "-b", "16", wav, "pad", "0.3", "0.5").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, b)
	}
	return testenv.LoadWAV(t, wav)
}

// TestVulkanSameTextAsCPU runs asr.use_gpu on ggml's Vulkan backend over Mesa's software Vulkan
// device (llvmpipe, a CPU-type device ggml uses only when GGML_VK_VISIBLE_DEVICES names it): the
// model is on Vulkan0, and the texts of corpus sentences (every tenth, 7 per language, in voices
// the model never heard) equal the CPU path's. On the held-out sentences (6 per language) the
// agreement is logged, not required: numerical differences between the backends can flip a token
// the model is unsure of. Word timings (DTW) come out on Vulkan too, within the audio.
func TestVulkanSameTextAsCPU(t *testing.T) {
	if runGPUChild(t, "TestVulkanSameTextAsCPU", "0") {
		return
	}
	cfg := testConfig(t)
	cfg.UseGPU = true
	gpu := open(t, cfg, 1)
	if info := gpu.Info(); info.Device != "Vulkan0" || !strings.Contains(info.DeviceDescription, "llvmpipe") {
		t.Fatalf("asr.use_gpu with GGML_VK_VISIBLE_DEVICES=0: device %q (%q), want Vulkan0 (llvmpipe); %s", info.Device, info.DeviceDescription, info.DeviceLine())
	}
	t.Log(gpu.Info().DeviceLine())
	cfg.UseGPU = false
	cpu := open(t, cfg, 1)
	if d := cpu.Info().Device; d != "CPU" {
		t.Fatalf("asr.use_gpu false: device %q, want CPU", d)
	}
	dir := t.TempDir()
	var same, clips [2]int // [corpus, held out]
	for _, lang := range []string{"vi", "en", "zh", "de", "fr"} {
		type item struct {
			split       int
			text, voice string
		}
		var items []item
		for n := 0; n < 70; n += 10 {
			items = append(items, item{0, testenv.CorpusSentence(t, lang+".txt", n), testVoices[lang]})
		}
		for n := 0; n < 6; n++ {
			items = append(items, item{1, testenv.CorpusSentence(t, "heldout/"+lang+".txt", n), heldoutVoices[lang][n%2]})
		}
		for i, it := range items {
			pcm := speak(t, dir, fmt.Sprintf("%s-%d", lang, i), it.text, it.voice)
			var res [2]Result
			for k, e := range []*Engine{cpu, gpu} {
				r, err := e.TranscribeLanguage(context.Background(), pcm, lang)
				if err != nil {
					t.Fatal(err)
				}
				res[k] = r
			}
			clips[it.split]++
			if res[0].Text == res[1].Text {
				same[it.split]++
			} else if it.split == 0 {
				t.Errorf("%s corpus %q: CPU %q, Vulkan %q", lang, it.text, res[0].Text, res[1].Text)
			} else {
				t.Logf("%s held out %q: CPU %q, Vulkan %q", lang, it.text, res[0].Text, res[1].Text)
			}
			w := res[1].Words
			if len(w) == 0 || w[0].StartMS < 0 || w[len(w)-1].EndMS > res[1].DurationMS {
				t.Errorf("%s %q: Vulkan word timings %+v for %d ms of audio", lang, it.text, w, res[1].DurationMS)
			}
		}
	}
	t.Logf("same text on Vulkan as on the CPU: corpus %d of %d clips, held out %d of %d", same[0], clips[0], same[1], clips[1])
}

// TestNoGPUDeviceFallsBackToCPU: asr.use_gpu with no GPU device ggml will use (here Mesa's
// software device, which ggml skips without GGML_VK_VISIBLE_DEVICES) loads the model on the CPU,
// and the start-up line says so.
func TestNoGPUDeviceFallsBackToCPU(t *testing.T) {
	if runGPUChild(t, "TestNoGPUDeviceFallsBackToCPU", "") {
		return
	}
	cfg := testConfig(t)
	cfg.UseGPU = true
	e := open(t, cfg, 1)
	info := e.Info()
	if info.Device != "CPU" || info.OnGPU() {
		t.Fatalf("device %q, want CPU", info.Device)
	}
	if l := info.DeviceLine(); !strings.HasPrefix(l, "asr: no GPU device; running on the CPU") {
		t.Errorf("start-up line %q", l)
	}
	res, err := e.TranscribeLanguage(context.Background(), testenv.LoadWAV(t, speechClips(t)[0].path), "en")
	if err != nil || res.Text == "" {
		t.Fatalf("transcribing on the CPU fallback: %q, %v", res.Text, err)
	}
}

// BenchmarkVulkanVsCPU measures, side by side in one run, the bundled model on ggml's Vulkan
// backend over Mesa's software device (llvmpipe: the CPU again, through Vulkan, so it is slower;
// the point is that the path runs) against the CPU backend: each iteration transcribes the five
// espeak-ng sentences of speechClips (language forced) on both engines, in an order that
// alternates. Reported: the median ms per clip of each and the ratio vulkan/cpu. It needs
// GGML_VK_VISIBLE_DEVICES=0 in the environment (toolbox/run passes it with
// SENTIO_TOOLBOX_ENV=GGML_VK_VISIBLE_DEVICES), since ggml enumerates devices once per process.
func BenchmarkVulkanVsCPU(b *testing.B) {
	cfg := testConfig(b)
	cfg.UseGPU = true
	gpu := open(b, cfg, 1)
	if d := gpu.Info().Device; d != "Vulkan0" {
		b.Skipf("no Vulkan device (%s): run with GGML_VK_VISIBLE_DEVICES=0 and Mesa's Vulkan drivers", gpu.Info().DeviceLine())
	}
	cfg.UseGPU = false
	cpu := open(b, cfg, 1)
	clips := speechClips(b)
	pcms := make([][]float32, len(clips))
	for i, c := range clips {
		pcms[i] = testenv.LoadWAV(b, c.path)
	}
	var times [2][]float64 // [cpu, vulkan] ms per clip
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, pcm := range pcms {
			for k := range 2 {
				k = (k + i + j) % 2
				e := []*Engine{cpu, gpu}[k]
				start := time.Now()
				if _, err := e.TranscribeLanguage(context.Background(), pcm, clips[j].lang); err != nil {
					b.Fatal(err)
				}
				times[k] = append(times[k], float64(time.Since(start).Microseconds())/1000)
			}
		}
	}
	mc, mv := median(times[0]), median(times[1])
	b.ReportMetric(mc, "cpu-ms")
	b.ReportMetric(mv, "vulkan-ms")
	b.ReportMetric(mv/mc, "vulkan/cpu")
}
