package pjrt_test

import (
	"archive/zip"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/kernel/pjrt"
)

// fakeWheel writes a zip with the given members and returns its path and sha256.
func fakeWheel(t *testing.T, members map[string]string) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake-0.1-py3-none-any.whl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range members {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	sum, err := pjrt.FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, sum
}

func TestExtractFromWheelVerifiesStampsAndDetectsTampering(t *testing.T) {
	body := "not really a plugin, but bytes to copy"
	wheel, sum := fakeWheel(t, map[string]string{"pkg/plugin.so": body, "pkg/__init__.py": ""})
	w := pjrt.Wheel{SHA256: sum, Member: "pkg/plugin.so"}
	dir := filepath.Join(t.TempDir(), "pjrt")

	if err := pjrt.Installed(dir, w); err == nil {
		t.Fatal("Installed on an empty dir returned nil")
	}
	got, err := pjrt.ExtractFromWheel(wheel, dir, w)
	if err != nil {
		t.Fatal(err)
	}
	if got != filepath.Join(dir, backend.PluginFile) {
		t.Errorf("plugin path %q", got)
	}
	data, _ := os.ReadFile(got)
	if string(data) != body {
		t.Errorf("plugin content %q, want %q", data, body)
	}
	if err := pjrt.Installed(dir, w); err != nil {
		t.Errorf("Installed after extraction: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("plugin dir holds %d entries, want the plugin and its stamp", len(entries))
	}
	h := sha256.Sum256([]byte(body))
	stamp, _ := os.ReadFile(got + pjrt.StampSuffix)
	if !strings.Contains(string(stamp), hex.EncodeToString(h[:])) || !strings.Contains(string(stamp), sum) {
		t.Errorf("stamp %s lacks the plugin or wheel sha256", stamp)
	}

	// A different pinned wheel: not installed.
	if err := pjrt.Installed(dir, pjrt.Wheel{SHA256: strings.Repeat("0", 64), Member: w.Member}); err == nil {
		t.Error("Installed accepted a plugin from another wheel")
	}
	// Same size, different bytes: detected by the hash.
	if err := os.WriteFile(got, []byte(strings.ToUpper(body)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := pjrt.Installed(dir, w); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("Installed after tampering: %v, want a sha256 mismatch", err)
	}
}

func TestExtractFromWheelRejectsWrongHashAndMissingMember(t *testing.T) {
	wheel, sum := fakeWheel(t, map[string]string{"pkg/plugin.so": "x"})
	dir := filepath.Join(t.TempDir(), "pjrt")
	_, err := pjrt.ExtractFromWheel(wheel, dir, pjrt.Wheel{SHA256: strings.Repeat("a", 64), Member: "pkg/plugin.so"})
	if err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("wrong hash: %v, want a sha256 error", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("a rejected wheel still created the plugin directory")
	}
	_, err = pjrt.ExtractFromWheel(wheel, dir, pjrt.Wheel{SHA256: sum, Member: "pkg/other.so"})
	if err == nil || !strings.Contains(err.Error(), "pkg/other.so") {
		t.Errorf("missing member: %v, want an error naming it", err)
	}
	_, err = pjrt.ExtractFromWheel(wheel, dir, pjrt.Wheel{SHA256: sum, Member: "pkg/plugin.so", PluginSHA256: strings.Repeat("b", 64)})
	if err == nil || !strings.Contains(err.Error(), "pkg/plugin.so") {
		t.Errorf("member with the wrong hash: %v, want an error naming it", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed extractions left %d files in the plugin dir", len(entries))
	}
}

func TestCheckPlugin(t *testing.T) {
	notELF := filepath.Join(t.TempDir(), "x.so")
	_ = os.WriteFile(notELF, []byte("hello"), 0o644)
	if err := pjrt.CheckPlugin(notELF); err == nil || !strings.Contains(err.Error(), "not a readable ELF") {
		t.Errorf("non-ELF file: %v", err)
	}
	// Any ELF executable without the entry point: this test binary.
	self, _ := os.Executable()
	if err := pjrt.CheckPlugin(self); err == nil || !strings.Contains(err.Error(), "GetPjrtApi") {
		t.Errorf("ELF without GetPjrtApi: %v", err)
	}
	p := backend.FindCPUPlugin()
	if p == "" {
		t.Skip("no PJRT CPU plugin installed (run `make setup`): the positive case is not checked")
	}
	if err := pjrt.CheckPlugin(p); err != nil {
		t.Errorf("installed plugin %s: %v", p, err)
	}
}

// kernel/pjrt-requirements.txt (documentation and pip input) pins the same wheel as the Go constants.
func TestRequirementsFileMatchesConstants(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "pjrt-requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	want := pjrt.WheelProject + "==" + pjrt.WheelVersion + " --hash=sha256:" + pjrt.WheelSHA256
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("pjrt-requirements.txt pins %q, want %q", lines, want)
	}
	if !strings.HasPrefix(pjrt.WheelFile, strings.ReplaceAll(pjrt.WheelProject, "-", "_")+"-"+pjrt.WheelVersion+"-") {
		t.Errorf("WheelFile %q does not match %s==%s", pjrt.WheelFile, pjrt.WheelProject, pjrt.WheelVersion)
	}
}
