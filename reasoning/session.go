package reasoning

import (
	"fmt"
	"log/slog"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// Execution providers accepted in reasoning.provider.
const (
	ProviderCPU  = "cpu"
	ProviderCUDA = "cuda"
	ProviderAuto = "auto"
)

// cudaHelp says what a machine needs for provider cuda.
const cudaHelp = "install an ONNX Runtime build with the CUDA execution provider (the onnxruntime-gpu " +
	"release for CUDA 12, with libcudnn9 and the CUDA 12 runtime libraries) and point reasoning.ort_library " +
	"at its libonnxruntime.so, or set reasoning.provider to cpu or auto"

// session is one ONNX Runtime session over a graph, created once and reused by every batch.
type session struct {
	s        *ort.DynamicAdvancedSession
	provider string // the provider actually in use: cpu or cuda
}

// sessionConfig says how to create a session.
type sessionConfig struct {
	path     string
	inputs   []string
	outputs  []string
	provider string // cpu, cuda or auto
	threads  int    // intra-op threads; 0 lets ONNX Runtime choose
}

// newSession creates a session on the configured provider. With auto it tries CUDA and falls back
// to the CPU with one warning; with cuda it fails when CUDA cannot be used, saying what to install.
func newSession(c sessionConfig, log *slog.Logger) (*session, error) {
	createSession := func(c sessionConfig, provider string) (s *session, err error) {
		err = quietly(log, func() error {
			s, err = createSessionOn(c, provider)
			return err
		})
		return s, err
	}
	switch c.provider {
	case ProviderCPU:
		return createSession(c, ProviderCPU)
	case ProviderCUDA:
		s, err := createSession(c, ProviderCUDA)
		if err != nil {
			return nil, fmt.Errorf("reasoning: provider cuda: %w; %s", err, cudaHelp)
		}
		return s, nil
	case ProviderAuto, "":
		s, err := createSession(c, ProviderCUDA)
		if err == nil {
			return s, nil
		}
		log.Warn("reasoning: CUDA is not available, running the model on the CPU", "reason", oneLine(err.Error()))
		return createSession(c, ProviderCPU)
	default:
		return nil, fmt.Errorf("reasoning: provider %q is not one of cpu, cuda, auto (reasoning.provider)", c.provider)
	}
}

// createSessionOn creates a session on one provider.
func createSessionOn(c sessionConfig, provider string) (*session, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	if c.threads > 0 {
		if err := opts.SetIntraOpNumThreads(c.threads); err != nil {
			return nil, err
		}
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, err
	}
	if provider == ProviderCUDA {
		cuda, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return nil, fmt.Errorf("this ONNX Runtime (%s) has no CUDA execution provider (%s)", ort.GetVersion(), strings.TrimRight(err.Error(), ". "))
		}
		defer cuda.Destroy()
		if err := opts.AppendExecutionProviderCUDA(cuda); err != nil {
			return nil, fmt.Errorf("this ONNX Runtime (%s) cannot use CUDA (%s)", ort.GetVersion(), strings.TrimRight(err.Error(), ". "))
		}
	}
	s, err := ort.NewDynamicAdvancedSession(c.path, c.inputs, c.outputs, opts)
	if err != nil {
		return nil, fmt.Errorf("creating an ONNX Runtime session for %s on %s: %w", c.path, provider, err)
	}
	return &session{s: s, provider: provider}, nil
}

// close releases the session.
func (s *session) close() error { return s.s.Destroy() }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
