package project_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/kernel/project"
)

// TestFuzzersListed checks that scripts/gotest.sh fuzzes every fuzz function of the module and names no
// fuzz function that does not exist, so that a new fuzzer cannot be forgotten by `make test`.
func TestFuzzersListed(t *testing.T) {
	p, err := project.Find("")
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(p.Root, "scripts", "gotest.sh"))
	if err != nil {
		t.Fatal(err)
	}
	listed := regexp.MustCompile(`(?m)^\s*"(\./\S+) (Fuzz\w+)"\s*$`).FindAllStringSubmatch(string(script), -1)
	var inScript []string
	for _, m := range listed {
		inScript = append(inScript, m[1]+" "+m[2])
	}
	var inCode []string
	fuzzFunc := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(\w+ \*testing\.F\)`)
	err = filepath.WalkDir(p.Root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != p.Root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() && path != p.Root {
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module (kernel/tools)
			}
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(p.Root, filepath.Dir(path))
		for _, m := range fuzzFunc.FindAllStringSubmatch(string(src), -1) {
			inCode = append(inCode, "./"+filepath.ToSlash(rel)+" "+m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(inScript)
	slices.Sort(inCode)
	if len(inCode) < 9 {
		t.Fatalf("found only %d fuzz functions: %q", len(inCode), inCode)
	}
	if !slices.Equal(inScript, inCode) {
		t.Errorf("scripts/gotest.sh FUZZERS = %q\nfuzz functions in the code = %q", inScript, inCode)
	}
}
