package reasoning

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// DefaultORTLibraries are the places the ONNX Runtime shared library is looked for when
// reasoning.ort_library is empty, in order: Debian's packages (libonnxruntime1.23) on amd64 and
// arm64, a /usr/local install, then the dynamic linker's search path.
var DefaultORTLibraries = []string{
	"/usr/lib/x86_64-linux-gnu/libonnxruntime.so.1.23",
	"/usr/lib/aarch64-linux-gnu/libonnxruntime.so.1.23",
	"/usr/local/lib/libonnxruntime.so.1.23",
	"/usr/local/lib/libonnxruntime.so",
	"libonnxruntime.so.1.23",
}

// ortNoise marks the lines Debian's libonnxruntime prints to standard error when it is loaded
// ("Schema error: Trying to register schema ..."), about a thousand of them.
const ortNoise = "Schema error"

var ortEnv struct {
	sync.Mutex
	library string // the library the process's ONNX Runtime environment was created from
}

// initORT creates the process-wide ONNX Runtime environment from library (empty: the first of
// DefaultORTLibraries that exists) once; later calls succeed at once, but a different library is
// refused because one process holds one ONNX Runtime. A failed attempt can be retried.
func initORT(library string, log *slog.Logger) (string, error) {
	ortEnv.Lock()
	defer ortEnv.Unlock()
	if ortEnv.library != "" {
		if library != "" && !sameLibrary(library, ortEnv.library) {
			return "", fmt.Errorf("reasoning: ONNX Runtime is already loaded from %s in this process; cannot also load %s", ortEnv.library, library)
		}
		return ortEnv.library, nil
	}
	lib, err := findORTLibrary(library)
	if err != nil {
		return "", err
	}
	ort.SetSharedLibraryPath(lib)
	err = quietly(log, func() error { return ort.InitializeEnvironment(ort.WithLogLevelError()) })
	if err != nil {
		return "", fmt.Errorf("reasoning: loading ONNX Runtime from %s: %w (sentio needs ONNX Runtime 1.23: Debian's libonnxruntime1.23, or set reasoning.ort_library)", lib, err)
	}
	ortEnv.library = lib
	log.Debug("ONNX Runtime loaded", "library", lib, "version", ort.GetVersion())
	return lib, nil
}

// ORTVersion loads ONNX Runtime from library as Open does (empty: the first of
// DefaultORTLibraries present), its load-time noise kept off standard error, and returns its
// version and the library it was loaded from.
func ORTVersion(library string) (version, lib string, err error) {
	lib, err = initORT(library, slog.New(slog.DiscardHandler))
	if err != nil {
		return "", "", err
	}
	return ort.GetVersion(), lib, nil
}

// findORTLibrary returns library when set: a path must exist, a bare file name is left to the
// dynamic linker's search path. When empty it returns the first of DefaultORTLibraries present.
func findORTLibrary(library string) (string, error) {
	if library != "" {
		if !strings.Contains(library, "/") {
			return library, nil
		}
		if _, err := os.Stat(library); err != nil {
			return "", fmt.Errorf("reasoning: ONNX Runtime library %s (reasoning.ort_library): %w; install ONNX Runtime 1.23 (Debian: apt install libonnxruntime1.23) or fix the path", library, err)
		}
		return library, nil
	}
	for _, p := range DefaultORTLibraries {
		if !strings.Contains(p, "/") {
			return p, nil // left to the dynamic linker's search
		}
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("reasoning: no ONNX Runtime library found; install ONNX Runtime 1.23 (Debian: apt install libonnxruntime1.23) or set reasoning.ort_library to its libonnxruntime.so")
}

// quietly runs fn (a call into ONNX Runtime) with ONNX Runtime's schema registration noise kept
// off standard error: Debian's build prints about a thousand "Schema error" lines when its
// operator schemas are first registered, which happens when the first session is created. The
// dropped lines are summarised in one debug line; other output passes through.
func quietly(log *slog.Logger, fn func() error) error {
	filter, ferr := captureStderr(ortNoise)
	err := fn()
	if ferr == nil {
		if dropped, first := filter.restore(); dropped > 0 {
			log.Debug("ONNX Runtime printed schema registration noise at load; dropped it",
				"lines", dropped, "first", first)
		}
	}
	return err
}

// sameLibrary reports whether the library asked for is the one loaded: the same file after
// symbolic links, or, for a bare file name (left to the dynamic linker), the same base name.
func sameLibrary(asked, loaded string) bool {
	if asked == loaded {
		return true
	}
	if !strings.Contains(asked, "/") {
		return strings.HasPrefix(filepath.Base(loaded), strings.TrimSuffix(asked, filepath.Ext(asked)))
	}
	a, err1 := filepath.EvalSymlinks(asked)
	l, err2 := filepath.EvalSymlinks(loaded)
	return err1 == nil && err2 == nil && a == l
}
