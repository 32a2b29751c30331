package docker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeGoTarball writes a tar.gz shaped like Go's official one (go/bin/go), whose go command answers `go version`
// and `go env GOVERSION` with the given version, and returns its path and sha256.
func fakeGoTarball(t *testing.T, dir, version string) (string, string) {
	t.Helper()
	script := "#!/bin/sh\n" +
		"if [ \"$1\" = env ]; then echo go" + version + "; exit 0; fi\n" +
		"echo \"go version go" + version + " linux/amd64\"\n"
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range []struct {
		name string
		mode int64
		body string
	}{{"go/", 0o755, ""}, {"go/bin/", 0o755, ""}, {"go/bin/go", 0o755, script}, {"go/VERSION", 0o644, "go" + version + "\n"}} {
		typ := byte(tar.TypeReg)
		if strings.HasSuffix(e.name, "/") {
			typ = tar.TypeDir
		}
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.body)), Typeflag: typ}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "go"+version+".linux-amd64.tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return path, hex.EncodeToString(sum[:])
}

// TestInstallGo runs the recipe's Go step on local tarballs: it installs only a tarball whose sha256 is the
// expected one and whose go command reports the pinned version, and a second run finds it installed.
func TestInstallGo(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the image (and its Go step) is linux/amd64 only")
	}
	needTools(t, "bash", "tar", "sha256sum")
	v := readVersions(t, "versions.env")
	dir := t.TempDir()
	prefix := filepath.Join(dir, "prefix")
	good, goodSum := fakeGoTarball(t, dir, v["GO_VERSION"])

	// The pinned sha256 is the official tarball's: our fake one must be refused, naming both sums.
	_, stderr, err := runScript(t, []string{"GO_TARBALL=" + good, "GO_PREFIX=" + prefix, "GO_SHA256"}, "install.sh", "go")
	if err == nil {
		t.Fatalf("install.sh go accepted a tarball whose sha256 is not the pinned one")
	}
	if !strings.Contains(stderr, goodSum) || !strings.Contains(stderr, v["GO_LINUX_AMD64_SHA256"]) {
		t.Errorf("refusal should name the tarball's sha256 %s and the pinned %s; stderr:\n%s", goodSum, v["GO_LINUX_AMD64_SHA256"], stderr)
	}
	if _, err := os.Stat(filepath.Join(prefix, "go")); err == nil {
		t.Errorf("a refused tarball left %s/go behind", prefix)
	}

	// With GO_SHA256 naming it, the same tarball installs, and its go runs.
	stdout, stderr, err := runScript(t, []string{"GO_TARBALL=" + good, "GO_PREFIX=" + prefix, "GO_SHA256=" + goodSum}, "install.sh", "go")
	if err != nil {
		t.Fatalf("install.sh go with a matching GO_SHA256 failed: %v\n%s%s", err, stdout, stderr)
	}
	out, err := exec.Command(filepath.Join(prefix, "go", "bin", "go"), "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "go version go"+v["GO_VERSION"]+" linux/amd64" {
		t.Errorf("installed go prints %q (%v)", out, err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(prefix, ".go.tmp-*")); len(leftovers) > 0 {
		t.Errorf("temporary directories left in %s: %q", prefix, leftovers)
	}

	// Installed already: no tarball needed, nothing downloaded.
	stdout, stderr, err = runScript(t, []string{"GO_TARBALL", "GO_PREFIX=" + prefix}, "install.sh", "go")
	if err != nil || !strings.Contains(stdout, "already in") {
		t.Errorf("second install.sh go should find Go installed: %v\n%s%s", err, stdout, stderr)
	}

	// A missing build CA bundle is an error, not a silent fall-back to the system's roots.
	_, stderr, err = runScript(t, []string{"GO_PREFIX=" + prefix, "FIBERBNN_BUILD_CA=" + filepath.Join(dir, "no-ca.pem")}, "install.sh", "go")
	if err == nil || !strings.Contains(stderr, "no-ca.pem") {
		t.Errorf("install.sh with a missing FIBERBNN_BUILD_CA: want an error naming it, got %v\n%s", err, stderr)
	}

	// A tarball of another Go version is refused even when its sha256 is the expected one.
	other, otherSum := fakeGoTarball(t, t.TempDir(), "1.25.0")
	prefix2 := filepath.Join(dir, "prefix2")
	_, stderr, err = runScript(t, []string{"GO_TARBALL=" + other, "GO_PREFIX=" + prefix2, "GO_SHA256=" + otherSum}, "install.sh", "go")
	if err == nil || !strings.Contains(stderr, "go1.25.0") || !strings.Contains(stderr, "want go"+v["GO_VERSION"]) {
		t.Errorf("install.sh go should refuse go1.25.0 naming both versions: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(prefix2, "go")); err == nil {
		t.Errorf("a refused tarball left %s/go behind", prefix2)
	}
}

// TestInstallCheckPackages runs the host check with a package list holding a name Debian does not have: the
// check must fail naming it (before it looks at the set-up).
func TestInstallCheckPackages(t *testing.T) {
	needTools(t, "bash", "apt-cache")
	out, err := exec.Command("apt-cache", "policy", "tini").Output()
	if err != nil || !strings.Contains(string(out), "Candidate:") || strings.Contains(string(out), "Candidate: (none)") {
		t.Skip("apt has no package lists here (apt-cache policy tini shows no candidate)")
	}
	dir := t.TempDir()
	data, err := os.ReadFile("versions.env")
	if err != nil {
		t.Fatal(err)
	}
	bogus := "fiberbnn-no-such-package"
	env := strings.Replace(string(data), `DEBIAN_PACKAGES="`, `DEBIAN_PACKAGES="`+bogus+" ", 1)
	if env == string(data) {
		t.Fatal("versions.env has no DEBIAN_PACKAGES=\"...\" line")
	}
	if err := os.WriteFile(filepath.Join(dir, "versions.env"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("install.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "install.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs(repoRoot)
	stdout, stderr, err := runScript(t, []string{"FIBERBNN_ROOT=" + root}, filepath.Join(dir, "install.sh"), "check")
	if err == nil {
		t.Fatalf("install.sh check passed with %s in DEBIAN_PACKAGES:\n%s", bogus, stdout)
	}
	if !strings.Contains(stderr, bogus) || strings.Contains(stderr, " tini") {
		t.Errorf("the failure should name %s and only it; stderr:\n%s", bogus, stderr)
	}
}
