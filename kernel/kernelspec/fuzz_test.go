package kernelspec_test

import (
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/internal/fuzzcorpus"
	"github.com/fiberbnn/fiberbnn/kernel/kernelspec"
	"github.com/fiberbnn/fiberbnn/kernel/project"
)

// specSeeds are the committed seed corpus of FuzzParse: an installed-looking spec, and broken ones.
func specSeeds() map[string]string {
	return map[string]string{
		"installed": `{"argv":["/ck/bin/gonb","--kernel","{connection_file}","--go_work=/ck"],"display_name":"Go (fiberlib)",
"language":"go","env":{"PJRT_PLUGIN_LIBRARY_PATH":"/h/pjrt","PATH":"/ck/bin:${PATH}:/nonexistent"},"metadata":{"debugger":false}}`,
		"short":     `{"argv":["gonb"]}`,
		"nowork":    `{"argv":["/bin/sh","-c","x"],"env":{"PJRT_PLUGIN_LIBRARY_PATH":""}}`,
		"badtypes":  `{"argv":"gonb","env":[1,2]}`,
		"truncated": `{"argv":["/ck/bin/gonb",`,
		"null":      `null`,
	}
}

// TestSpecSeedCorpus writes the seed corpus with -regen-corpus, and otherwise checks the committed files.
func TestSpecSeedCorpus(t *testing.T) {
	fuzzcorpus.Check(t, "FuzzParse", specSeeds())
}

// FuzzParse checks that parsing a kernel.json and checking it (Problems, as doctor and the runner do)
// never panics, that parse errors name the file, and that a spec Problems accepts has a --go_work with the
// checkout and the plugin directory on its plugin path.
func FuzzParse(f *testing.F) {
	for _, s := range specSeeds() {
		f.Add([]byte(s))
	}
	p := project.Paths{Root: "/ck", Bin: "/ck/bin", PluginDir: "/h/pjrt"}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := kernelspec.Parse(data, "/k/kernel.json")
		if err != nil {
			if !strings.Contains(err.Error(), `"/k/kernel.json"`) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if probs := kernelspec.Problems(spec, p); len(probs) == 0 {
			if !strings.Contains(strings.Join(spec.Argv, " "), "--go_work=") ||
				!strings.Contains(spec.Env["PJRT_PLUGIN_LIBRARY_PATH"], p.PluginDir) {
				t.Fatalf("Problems accepted %+v", spec)
			}
		}
	})
}
