package data

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dataDir returns the reference data directory, or skips the test when there is none (it fails instead when
// $CI is set, where the data must be present).
func dataDir(t testing.TB) string {
	t.Helper()
	d, err := Dir()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("reference data missing on CI: %v", err)
		}
		t.Skipf("reference data not found, skipping: %v", err)
	}
	return d
}

// countNonBlankLines counts lines with something other than white space, independently of the parser.
func countNonBlankLines(t testing.TB, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) > 0 {
			n++
		}
	}
	return n
}

// writeFiles creates files (relative path → content) under a fresh temporary directory and returns it.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// wantErr checks that err is non-nil and mentions every fragment.
func wantErr(t testing.TB, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error mentioning %q, got nil", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("error %q does not mention %q", err, f)
		}
	}
}

func approx(a, b, tol float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= tol
}
