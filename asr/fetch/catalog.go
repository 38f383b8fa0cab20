// Package fetch downloads official whisper.cpp ggml models and the Silero VAD model, verifies
// their size and SHA-256, and installs them atomically (temporary file, fsync, rename). An
// interrupted download keeps its partial file and resumes with an HTTP range request.
package fetch

import (
	"fmt"
	"sort"
	"strings"
)

// Model is a downloadable model file.
type Model struct {
	// Name is what users type: base, large-v3-turbo, silero-vad ...
	Name string
	// Remote is the file name on the server; File the name it is saved under.
	Remote string
	File   string
	// Repo is the Hugging Face repository, Revision the commit the checksum belongs to.
	Repo     string
	Revision string
	// Size is the file size in bytes; SHA256 its checksum (lower-case hex).
	Size   int64
	SHA256 string
	// Dir is the default directory (relative to the working directory), ConfigKey the
	// configuration key that points at the file.
	Dir       string
	ConfigKey string
	// About says what the model is for.
	About string
}

// whisperRev is the revision of huggingface.co/ggerganov/whisper.cpp the checksums below were
// published for.
const whisperRev = "5359861c739e955e79d9a303bcbc70fb988958b1"

// Catalog lists the models `sentio models fetch` knows. Sizes and SHA-256 checksums are Hugging
// Face's published Git LFS object ids for these files (revision whisperRev of
// ggerganov/whisper.cpp; ggml-org/whisper-vad for Silero), each taken from at least two
// independent published copies that agree; the Silero one was also recomputed here from the
// file in ../shared/data/vad. They were not recomputed from downloads on this machine, which
// has no route to Hugging Face: if one is ever wrong, the download fails verification, is
// deleted, and --sha256 can override it.
var Catalog = []Model{
	whisper("tiny", 77_691_713, "be07e048e1e599ad46341c8d2a135645097a538221678b7acdd1b1919c6e1b21", "multilingual, 39 M parameters, fastest"),
	whisper("tiny.en", 77_704_715, "921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f", "English only, 39 M parameters"),
	whisper("base", 147_951_465, "60ed5bc3dd14eea856493d334349b405782ddcaf0028d4b5df4088345fba2efe", "multilingual, 74 M parameters"),
	whisper("base.en", 147_964_211, "a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002", "English only, 74 M parameters"),
	whisper("small", 487_601_967, "1be3a9b2063867b937e64e2ec7483364a79917e157fa98c5d94b5c1fffea987b", "multilingual, 244 M parameters"),
	whisper("medium", 1_533_763_059, "6c14d5adee5f86394037b4e4e8b59f1673b6cee10e3cf0b11bbdbee79c156208", "multilingual, 769 M parameters"),
	whisper("large-v3", 3_095_033_483, "64d182b440b98d5203c4f9bd541544d84c605196c4f7b845dfa11fb23594d1e2", "multilingual, 1550 M parameters, most accurate"),
	whisper("large-v3-turbo", 1_624_555_275, "1fc70f774d38eb169993ac391eea357ef47c88757ef72ee5943879b7e8e2bc69", "multilingual, 809 M parameters, near large-v3 accuracy, much faster"),
	{
		Name: "silero-vad", Remote: "ggml-silero-v6.2.0.bin", File: "silero-v6.2.0-ggml.bin",
		Repo: "ggml-org/whisper-vad", Revision: "main",
		Size: 885_098, SHA256: "2aa269b785eeb53a82983a20501ddf7c1d9c48e33ab63a41391ac6c9f7fb6987",
		Dir: "models/vad", ConfigKey: "asr.vad_model",
		About: "Silero VAD v6.2.0 (voice activity detection for asr.vad_model)",
	},
}

func whisper(name string, size int64, sha, about string) Model {
	return Model{
		Name: name, Remote: "ggml-" + name + ".bin", File: "ggml-" + name + ".bin",
		Repo: "ggerganov/whisper.cpp", Revision: whisperRev, Size: size, SHA256: sha,
		Dir: "models/whisper", ConfigKey: "asr.model", About: about,
	}
}

// Lookup finds a model by name (silero, vad and silero-v6.2.0 are accepted for silero-vad).
func Lookup(name string) (Model, error) {
	switch name {
	case "silero", "vad", "silero-v6.2.0":
		name = "silero-vad"
	}
	for _, m := range Catalog {
		if m.Name == name {
			return m, nil
		}
	}
	names := make([]string, 0, len(Catalog))
	for _, m := range Catalog {
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return Model{}, fmt.Errorf("fetch: unknown model %q (known: %s)", name, strings.Join(names, ", "))
}

// URL returns where the model is downloaded from: base (when not empty) followed by the remote
// file name, or its Hugging Face URL.
func (m Model) URL(base string) string {
	if base != "" {
		return strings.TrimRight(base, "/") + "/" + m.Remote
	}
	return "https://huggingface.co/" + m.Repo + "/resolve/" + m.Revision + "/" + m.Remote
}
