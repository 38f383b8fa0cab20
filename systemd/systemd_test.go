package systemd

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sentio-health/sentio/internal/testenv"
)

// maxExposure is the highest acceptable `systemd-analyze security` exposure level.
const maxExposure = 2.0

// TestMain lets the test binary run a command under PR_SET_MDWE (what MemoryDenyWriteExecute=
// applies) when SENTIO_MDWE_EXEC is set.
func TestMain(m *testing.M) {
	if os.Getenv("SENTIO_MDWE_EXEC") == "1" {
		const prSetMDWE, mdweRefuseExecGain = 65, 1
		if err := unix.Prctl(prSetMDWE, mdweRefuseExecGain, 0, 0, 0); err != nil {
			os.Stderr.WriteString("prctl(PR_SET_MDWE): " + err.Error() + "\n")
			os.Exit(97)
		}
		// Prove the restriction holds: an anonymous writable and executable mapping is refused.
		if _, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANON); err == nil {
			os.Stderr.WriteString("PR_SET_MDWE did not refuse a W+X mapping\n")
			os.Exit(96)
		}
		var args []string
		for i, a := range os.Args {
			if a == "--" {
				args = os.Args[i+1:]
				break
			}
		}
		err := syscall.Exec(args[0], args, os.Environ())
		os.Stderr.WriteString("exec: " + err.Error() + "\n")
		os.Exit(98)
	}
	os.Exit(m.Run())
}

func systemdAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze not found: run the tests inside the toolbox (toolbox/run go test ...)")
	}
	return p
}

// installedUnit writes a copy of sentio.service (and drop-ins) whose ExecStart is the built
// binary, since verify insists that the executable exists.
func installedUnit(t *testing.T, dropins ...string) string {
	t.Helper()
	unit, err := os.ReadFile("sentio.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "ExecStart=/usr/bin/sentio run\n") {
		t.Fatal("sentio.service: ExecStart is no longer /usr/bin/sentio run; update this test")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "sentio.service")
	fixed := strings.Replace(string(unit), "ExecStart=/usr/bin/sentio", "ExecStart="+testenv.Binary(t), 1)
	if err := os.WriteFile(path, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	if len(dropins) > 0 {
		d := filepath.Join(dir, "sentio.service.d")
		os.Mkdir(d, 0o755)
		for _, f := range dropins {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(d, f), b, 0o644)
		}
	}
	return path
}

func TestUnitVerifies(t *testing.T) {
	cmd := exec.Command(systemdAnalyze(t), "verify", installedUnit(t))
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestGPUDropInVerifies(t *testing.T) {
	// Verify the unit with the drop-in merged in (systemd reads <unit>.d/ beside the unit).
	unit := installedUnit(t, "gpu.conf")
	merged, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	gpu, _ := os.ReadFile("gpu.conf")
	os.WriteFile(unit, append(merged, gpu...), 0o644)
	out, err := exec.Command(systemdAnalyze(t), "verify", unit).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify with gpu.conf: %v\n%s", err, out)
	}
	if !strings.Contains(string(gpu), "PrivateDevices=no") || !strings.Contains(string(gpu), "DeviceAllow=/dev/nvidiactl rw") {
		t.Error("gpu.conf must open the NVIDIA devices")
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

func TestUnitExposure(t *testing.T) {
	out, err := exec.Command(systemdAnalyze(t), "security", "--offline=true", installedUnit(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := exposureRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("exposure level %.1f", score)
	if score > maxExposure {
		t.Errorf("exposure level %.1f > %.1f:\n%s", score, maxExposure, out)
	}
}

// underMDWE runs a command with writable and executable memory refused (PR_SET_MDWE, what
// MemoryDenyWriteExecute=yes applies) and returns its output.
func underMDWE(t *testing.T, command ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, command...)...)
	cmd.Env = append(os.Environ(), "SENTIO_MDWE_EXEC=1")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		switch ee.ExitCode() {
		case 97:
			t.Fatalf("this kernel lacks PR_SET_MDWE (Linux 6.3+): %s", out)
		case 96:
			t.Fatalf("MDWE not in force: %s", out)
		}
	}
	if err != nil {
		t.Fatalf("%s under MDWE: %v\n%s", command, err, out)
	}
	return string(out)
}

// TestRunsUnderMemoryDenyWriteExecute loads ONNX Runtime (`sentio version`) and runs ggml
// compute (whisper.cpp's Silero VAD on real speech) with W+X memory refused, which is what
// MemoryDenyWriteExecute=yes in sentio.service relies on.
func TestRunsUnderMemoryDenyWriteExecute(t *testing.T) {
	out := underMDWE(t, testenv.Binary(t), "version")
	if !regexp.MustCompile(`onnxruntime\s+1\.\d+`).MatchString(out) {
		t.Fatalf("ONNX Runtime did not load under MDWE:\n%s", out)
	}
	vad, err := exec.LookPath("whisper-vad-speech-segments")
	if err != nil {
		t.Fatal("whisper-vad-speech-segments (whisper.cpp-tools) not found: run inside the toolbox")
	}
	out = underMDWE(t, vad, "-np", "-vm", testenv.Shared(t, "data/vad/silero-v6.2.0-ggml.bin"), "-f", testenv.Shared(t, "data/speech/jfk.wav"))
	if !strings.Contains(out, "Speech segment 0:") {
		t.Fatalf("ggml VAD produced no speech segment under MDWE:\n%s", out)
	}
}

// TestDaemonRunsUnderMemoryDenyWriteExecute starts `sentio run` with the whole pipeline
// (whisper.cpp model, ONNX Runtime session, lingua-go) with W+X memory refused: it must get
// ready and stop cleanly.
func TestDaemonRunsUnderMemoryDenyWriteExecute(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", testenv.Binary(t), "run")
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Env = append(os.Environ(), "SENTIO_MDWE_EXEC=1", "SENTIO_NATS_LISTEN=127.0.0.1:0",
		"SENTIO_HTTP_LISTEN=127.0.0.1:0", "SENTIO_STATE_DIR="+t.TempDir(), "SENTIO_LOG_FORMAT=json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var log strings.Builder
	ready := make(chan bool, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			var rec struct{ Msg string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "ready" {
				ready <- true
			}
		}
	}()
	select {
	case <-ready:
	case <-scanned:
		cmd.Wait()
		t.Fatalf("sentio run exited under MDWE before it was ready:\n%s", log.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("sentio run not ready under MDWE within 90s")
	}
	cmd.Process.Signal(syscall.SIGINT)
	<-scanned
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sentio run under MDWE exited with %v:\n%s", err, log.String())
	}
}
