package docker

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestContextStaging stages a build context with docker/context.sh (own data and Go tarball) and checks its
// layout: the checkout without local set-up, the data, the tarball, and every path the Dockerfile copies.
func TestContextStaging(t *testing.T) {
	needTools(t, "bash", "tar")
	dir := t.TempDir()
	data := filepath.Join(dir, "mydata")
	if err := os.MkdirAll(filepath.Join(data, "toy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "toy", "points.csv"), []byte("x,y\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(dir, "go-test.tar.gz")
	if err := os.WriteFile(tarball, []byte("not really a tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "proxy-ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "ctx")
	stdout, stderr, err := runScript(t, []string{"FIBERBNN_DATA=" + data, "GO_TARBALL=" + tarball, "BUILD_CA_BUNDLE=" + ca}, "context.sh", out)
	if err != nil {
		t.Fatalf("context.sh failed: %v\n%s%s", err, stdout, stderr)
	}
	mustRead := func(rel string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, rel))
		if err != nil {
			t.Errorf("staged context lacks %s: %v", rel, err)
		}
		return string(b)
	}
	if got := mustRead("shared/data/toy/points.csv"); got != "x,y\n1,2\n" {
		t.Errorf("staged data file holds %q", got)
	}
	if got := mustRead("local/go-test.tar.gz"); got != "not really a tarball" {
		t.Errorf("staged tarball holds %q", got)
	}
	if got := mustRead("local/build-ca.pem"); got != "-----BEGIN CERTIFICATE-----\n" {
		t.Errorf("staged CA bundle holds %q", got)
	}
	if !strings.Contains(stdout, "--build-arg GO_TARBALL=go-test.tar.gz --build-arg BUILD_CA=build-ca.pem") {
		t.Errorf("context.sh should print the build command with both build args; stdout:\n%s", stdout)
	}
	goMod, _ := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if got := mustRead("fiberbnn/go.mod"); got != string(goMod) {
		t.Errorf("staged go.mod differs from the checkout's")
	}
	for _, local := range []string{".git", ".venv", "bin", "build", "notebooks/_out"} {
		if _, err := os.Stat(filepath.Join(out, "fiberbnn", local)); err == nil {
			t.Errorf("staged checkout holds %s: local set-up must not enter the image", local)
		}
	}
	for _, script := range []string{"install.sh", "entrypoint.sh", "healthcheck.sh"} {
		st, err := os.Stat(filepath.Join(out, "fiberbnn", "docker", script))
		if err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("staged docker/%s missing or not executable (%v)", script, err)
		}
	}
	if leftovers, _ := filepath.Glob(out + ".tmp-*"); len(leftovers) > 0 {
		t.Errorf("temporary directories left: %q", leftovers)
	}

	// Every COPY source of the Dockerfile exists in the staged context; every bind-mount source too.
	df := readDockerfile(t, "Dockerfile")
	for _, c := range df.all("COPY") {
		fields := strings.Fields(c)
		for _, src := range fields[:len(fields)-1] {
			if strings.HasPrefix(src, "--") {
				continue
			}
			if _, err := os.Stat(filepath.Join(out, src)); err != nil {
				t.Errorf("Dockerfile copies %s, which the staged context lacks", src)
			}
		}
	}
	for _, r := range df.all("RUN") {
		for _, m := range regexp.MustCompile(`--mount=type=bind,source=([^, ]+)`).FindAllStringSubmatch(r, -1) {
			if _, err := os.Stat(filepath.Join(out, m[1])); err != nil {
				t.Errorf("Dockerfile bind-mounts %s, which the staged context lacks", m[1])
			}
		}
	}

	// Staging again replaces the context; without data it fails naming the fix.
	if _, stderr, err := runScript(t, []string{"FIBERBNN_DATA=" + filepath.Join(dir, "nodata"), "GO_TARBALL", "BUILD_CA_BUNDLE"}, "context.sh", out); err == nil || !strings.Contains(stderr, "FIBERBNN_DATA") {
		t.Errorf("context.sh without data: want an error naming FIBERBNN_DATA, got %v\n%s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "local", "go-test.tar.gz")); err != nil {
		t.Errorf("a failed staging must leave the previous context alone: %v", err)
	}
}
