package project_test

import (
	"os"
	"os/exec"
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

// labCheckout copies scripts/lab.sh into a temporary checkout whose venv python and fiberkernel are stubs:
// the python stub prints a token when asked for one (-c) and otherwise records its arguments and the token
// it received through the environment into record, instead of starting JupyterLab.
func labCheckout(t *testing.T) (script, record string) {
	t.Helper()
	p, err := project.Find("")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(p.Root, "scripts", "lab.sh"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	record = filepath.Join(root, "record")
	files := map[string]string{
		"scripts/lab.sh": string(src),
		".venv/bin/python": "#!/bin/sh\nif [ \"$1\" = -c ]; then echo generated_Token_0123456789abcdef; exit 0; fi\n" +
			"{ echo \"ARGS $*\"; echo \"JUPYTER_TOKEN=$JUPYTER_TOKEN\"; } > " + record + "\n",
		"bin/fiberkernel": "#!/bin/sh\necho 'backend: stub'\n",
	}
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "notebooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "scripts", "lab.sh"), record
}

// runLab runs the lab script with the FIBERBNN_LAB_* and JUPYTER_TOKEN variables cleared, plus env.
func runLab(t *testing.T, script string, env ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command("bash", script)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FIBERBNN_LAB_") && !strings.HasPrefix(kv, "JUPYTER_TOKEN") && !strings.HasPrefix(kv, "DISPLAY=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// TestLabNeedsTokenAndLoopback checks scripts/lab.sh: JupyterLab gets a token (a fresh one, or the one
// given) through the environment, never on its command line (readable by every local user), listens on
// 127.0.0.1 by default, and is not started at all with an empty token.
func TestLabNeedsTokenAndLoopback(t *testing.T) {
	script, record := labCheckout(t)
	stdout, stderr, err := runLab(t, script)
	if err != nil {
		t.Fatalf("lab.sh: %v\n%s%s", err, stdout, stderr)
	}
	rec, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	const generated = "generated_Token_0123456789abcdef"
	if !strings.Contains(string(rec), "--ip=127.0.0.1 ") {
		t.Errorf("JupyterLab not bound to 127.0.0.1: %s", rec)
	}
	if !strings.Contains(string(rec), "JUPYTER_TOKEN="+generated+"\n") {
		t.Errorf("JupyterLab did not get the generated token through JUPYTER_TOKEN: %s", rec)
	}
	if strings.Contains(strings.SplitN(string(rec), "\n", 2)[0], generated) || strings.Contains(string(rec), "token=") {
		t.Errorf("the token is on JupyterLab's command line: %s", rec)
	}
	if !strings.Contains(stdout, "http://127.0.0.1:8888/lab?token="+generated) {
		t.Errorf("the URL with the token is not printed: %q", stdout)
	}

	_ = os.Remove(record)
	if _, _, err := runLab(t, script, "FIBERBNN_LAB_TOKEN=my-own-token-42"); err != nil {
		t.Fatal(err)
	}
	if rec, _ := os.ReadFile(record); !strings.Contains(string(rec), "JUPYTER_TOKEN=my-own-token-42\n") {
		t.Errorf("the given token was not passed on: %s", rec)
	}

	_ = os.Remove(record)
	_, stderr, err = runLab(t, script, "FIBERBNN_LAB_TOKEN=")
	if err == nil || !strings.Contains(stderr, "JupyterLab never runs without a token") {
		t.Errorf("empty token: err=%v stderr=%q, want a refusal", err, stderr)
	}
	if _, err := os.Stat(record); err == nil {
		t.Error("JupyterLab was started with an empty token")
	}
}

// TestJupyterReadsTokenFromEnvironment checks that the pinned jupyter-server of the venv takes its token
// from JUPYTER_TOKEN, which scripts/lab.sh relies on. Skipped before `make setup`.
func TestJupyterReadsTokenFromEnvironment(t *testing.T) {
	p, err := project.Find("")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(p.Venv, "lib", "python3*", "site-packages", "jupyter_server", "auth", "identity.py"))
	if len(files) == 0 {
		t.Skip("no venv with jupyter-server: run `make setup` (make test always does)")
	}
	src, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), `os.environ["JUPYTER_TOKEN"]`) {
		t.Errorf("%s does not read JUPYTER_TOKEN: scripts/lab.sh would start JupyterLab with a random token it does not print", files[0])
	}
}

// tokenPattern matches a Jupyter token written into a file: in a URL or as a JSON or shell value.
var tokenPattern = regexp.MustCompile(`(?i)(token=|"token"\s*:\s*")[A-Za-z0-9_\-]{16,}`)

// TestNoTokensCommitted checks that no committed file (notebooks, logs, results, docs) holds a Jupyter
// token, e.g. from a pasted URL or an executed notebook's output.
func TestNoTokensCommitted(t *testing.T) {
	p, err := project.Find("")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", p.Root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("git ls-files: %v (not a git checkout?)", err)
	}
	n := 0
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(p.Root, name))
		if err != nil {
			continue // deleted in the working tree
		}
		n++
		if m := tokenPattern.Find(data); m != nil && !strings.Contains(name, "_test.go") {
			t.Errorf("%s holds what looks like a Jupyter token: %q", name, m)
		}
	}
	if n < 50 {
		t.Errorf("only %d committed files were read", n)
	}
}
