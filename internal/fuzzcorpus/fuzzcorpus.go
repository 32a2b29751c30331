// Package fuzzcorpus keeps a fuzzer's committed seed corpus equal to the seeds its test file declares, so the
// corpus under testdata/fuzz/<Fuzzer>/ follows format changes instead of silently going stale.
//
// A package's test calls Check with its seeds; `go test -run <that test> -regen-corpus` rewrites the files.
package fuzzcorpus

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var regen = flag.Bool("regen-corpus", false, "rewrite the committed seed corpora under testdata/fuzz")

// Check compares testdata/fuzz/<fuzzer>/<name> with each seed (in go test's corpus encoding of one []byte
// argument) and reports every missing or different file; with -regen-corpus it writes them instead.
func Check[T string | []byte](t testing.TB, fuzzer string, seeds map[string]T) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", fuzzer)
	for name, data := range seeds {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", []byte(data))
		path := filepath.Join(dir, name)
		if *regen {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != content {
			t.Errorf("seed corpus file %s is missing or stale: rerun %s with -regen-corpus and commit the files", path, t.Name())
		}
	}
}
