package docker

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the checkout root, seen from this package's directory (where `go test` runs).
const repoRoot = ".."

// readVersions parses versions.env (KEY=value lines, optional double quotes, # comments).
func readVersions(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	line := regexp.MustCompile(`^([A-Z][A-Z0-9_]*)=(.*)$`)
	out := map[string]string{}
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("%s:%d: %q is not KEY=value", path, i+1, l)
		}
		v := m[2]
		if strings.HasPrefix(v, `"`) {
			if len(v) < 2 || !strings.HasSuffix(v, `"`) {
				t.Fatalf("%s:%d: unterminated quote in %q", path, i+1, l)
			}
			v = v[1 : len(v)-1]
		} else if strings.ContainsAny(v, " \t'\"$`") {
			t.Fatalf("%s:%d: unquoted value %q holds spaces or shell syntax", path, i+1, v)
		}
		if _, dup := out[m[1]]; dup {
			t.Fatalf("%s:%d: %s set twice", path, i+1, m[1])
		}
		out[m[1]] = v
	}
	return out
}

// goMod is the part of a go.mod file the pins are compared with.
type goMod struct {
	Go      string            // the go directive
	Require map[string]string // module path -> version
	Tools   []string          // tool directives
}

// readGoMod parses the go, require and tool directives of a go.mod file (single-line and block forms).
func readGoMod(t *testing.T, path string) goMod {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	m := goMod{Require: map[string]string{}}
	block := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if block != "" {
			if f[0] == ")" {
				block = ""
				continue
			}
			f = append([]string{block}, f...)
		} else if len(f) == 2 && f[1] == "(" {
			block = f[0]
			continue
		}
		switch {
		case f[0] == "go" && len(f) == 2:
			m.Go = f[1]
		case f[0] == "require" && len(f) == 3:
			m.Require[f[1]] = f[2]
		case f[0] == "tool" && len(f) == 2:
			m.Tools = append(m.Tools, f[1])
		}
	}
	return m
}

// requirementPins returns name -> version of every "name==version" line of a pip requirements file (names
// normalised: lower case, '_' and '.' as '-').
func requirementPins(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	pin := regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)`)
	out := map[string]string{}
	for _, l := range strings.Split(string(data), "\n") {
		if m := pin.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			out[normalizeName(m[1])] = m[2]
		}
	}
	return out
}

func normalizeName(n string) string {
	return strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(n))
}

// needTools skips the test when a command it runs is missing.
func needTools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s is not on PATH", n)
		}
	}
}

// runScript runs a script of this package (or any path) with bash, the given extra environment (KEY=value,
// replacing inherited values) and returns stdout, stderr and the error.
func runScript(t *testing.T, env []string, script string, args ...string) (string, string, error) {
	t.Helper()
	abs, err := filepath.Abs(script)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{abs}, args...)...)
	cmd.Env = mergeEnv(os.Environ(), env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	return stdout.String(), stderr.String(), err
}

// mergeEnv returns base with the KEY=value entries of extra replacing or adding to it. An entry "KEY" without
// '=' removes KEY.
func mergeEnv(base, extra []string) []string {
	drop := map[string]bool{}
	for _, e := range extra {
		k, _, _ := strings.Cut(e, "=")
		drop[k] = true
	}
	var out []string
	for _, e := range base {
		k, _, _ := strings.Cut(e, "=")
		if !drop[k] {
			out = append(out, e)
		}
	}
	for _, e := range extra {
		if strings.Contains(e, "=") {
			out = append(out, e)
		}
	}
	return out
}
