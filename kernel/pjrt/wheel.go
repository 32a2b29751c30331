// Package pjrt provisions the PJRT CPU plugin that lets GoMLX run on XLA, and checks plugin files.
//
// The plugin comes from a PyPI wheel pinned by version and sha256 (see kernel/pjrt-requirements.txt), so the
// set-up needs no access to GitHub: the wheel is downloaded with the virtual environment's pip, its hash is
// verified, and only the plugin file is copied out of it into $FIBERBNN_HOME/pjrt/ (through a temporary file
// and a rename, so a half-copied plugin never appears). A stamp file beside the plugin records the wheel and
// plugin hashes; Install skips all work when the stamp and the plugin agree.
//
// The wheel exists only for linux/amd64. Elsewhere Install returns ErrUnsupportedPlatform and fiberlib falls
// back to the pure-Go backend (or GoMLX's own plugin installer, where the internet is open).
package pjrt

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
)

// The pinned wheel. Keep in sync with kernel/pjrt-requirements.txt.
const (
	// WheelProject is the PyPI project name.
	WheelProject = "lammps-jax-pjrt-cpu"
	// WheelVersion is the pinned version.
	WheelVersion = "0.11.2"
	// WheelFile is the file pip downloads for linux/amd64.
	WheelFile = "lammps_jax_pjrt_cpu-0.11.2-py3-none-manylinux_2_27_x86_64.whl"
	// WheelSHA256 is the sha256 of WheelFile, as published on PyPI.
	WheelSHA256 = "1319390d948b39f69f7dade496b7c385149d9ca6097a6b62114da113216d9ad1"
	// WheelMember is the plugin's path inside the wheel.
	WheelMember = "lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so"
	// PluginSHA256 is the sha256 of WheelMember (201,600,336 bytes; PJRT C API 0.115, XLA of jaxlib 0.11.2).
	PluginSHA256 = "ad1309ac822b1b24d51b7f9947c7c9fa9ef5d67f390584cbc3d1fa2428fed9c2"
)

// StampSuffix is appended to the plugin path to name its stamp file.
const StampSuffix = ".stamp.json"

// ErrUnsupportedPlatform is returned where no pinned wheel exists (anything but linux/amd64).
var ErrUnsupportedPlatform = errors.New("no pinned PJRT CPU plugin wheel for " + runtime.GOOS + "/" + runtime.GOARCH +
	": fiberlib will use the pure-Go backend (slow); where the internet is open, run once " +
	"`env -u GOMLX_NO_AUTO_INSTALL GOMLX_BACKEND=xla:cpu go test -run XLA ./fiberlib/backend/` to let GoMLX install " +
	"its own plugin into ~/.local/lib/go-xla, where fiberlib finds it")

// Supported reports whether the pinned wheel exists for this platform.
func Supported() bool { return runtime.GOOS == "linux" && runtime.GOARCH == "amd64" }

// Wheel names a wheel holding a plugin. DefaultWheel is the pinned one; tests use others.
type Wheel struct {
	// SHA256 is the expected hex sha256 of the wheel file.
	SHA256 string
	// Member is the plugin's path inside the wheel.
	Member string
	// PluginSHA256, when not empty, is the expected hex sha256 of the extracted member.
	PluginSHA256 string
}

// DefaultWheel is the pinned wheel.
var DefaultWheel = Wheel{SHA256: WheelSHA256, Member: WheelMember, PluginSHA256: PluginSHA256}

// Stamp is what the stamp file beside an installed plugin records.
type Stamp struct {
	Wheel        string `json:"wheel"`
	WheelSHA256  string `json:"wheel_sha256"`
	PluginSHA256 string `json:"plugin_sha256"`
	PluginSize   int64  `json:"plugin_size"`
}

// FileSHA256 returns the hex sha256 of the file at path.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %q: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Installed reports whether dir holds a plugin installed from w whose content still matches its stamp.
// The returned error says what does not match (nil when installed).
func Installed(dir string, w Wheel) error {
	plugin := filepath.Join(dir, backend.PluginFile)
	data, err := os.ReadFile(plugin + StampSuffix)
	if err != nil {
		return fmt.Errorf("no stamp for %q: %w", plugin, err)
	}
	var st Stamp
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("stamp %q is not valid JSON: %w", plugin+StampSuffix, err)
	}
	if st.WheelSHA256 != w.SHA256 {
		return fmt.Errorf("plugin %q came from wheel sha256 %s, want %s", plugin, st.WheelSHA256, w.SHA256)
	}
	info, err := os.Stat(plugin)
	if err != nil {
		return fmt.Errorf("plugin missing: %w", err)
	}
	if info.Size() != st.PluginSize {
		return fmt.Errorf("plugin %q has %d bytes, its stamp says %d", plugin, info.Size(), st.PluginSize)
	}
	sum, err := FileSHA256(plugin)
	if err != nil {
		return err
	}
	if sum != st.PluginSHA256 {
		return fmt.Errorf("plugin %q has sha256 %s, its stamp says %s", plugin, sum, st.PluginSHA256)
	}
	return nil
}

// ExtractFromWheel verifies the wheel file against w.SHA256, then copies w.Member out of it into
// dir/pjrt_c_api_cpu_plugin.so (temporary file + rename) and writes the stamp. It returns the plugin path.
func ExtractFromWheel(wheelPath, dir string, w Wheel) (string, error) {
	sum, err := FileSHA256(wheelPath)
	if err != nil {
		return "", err
	}
	if sum != w.SHA256 {
		return "", fmt.Errorf("wheel %q has sha256 %s, want %s: the download is corrupt or not the pinned file; delete it and retry", wheelPath, sum, w.SHA256)
	}
	zr, err := zip.OpenReader(wheelPath)
	if err != nil {
		return "", fmt.Errorf("opening wheel %q: %w", wheelPath, err)
	}
	defer zr.Close()
	var member *zip.File
	for _, f := range zr.File {
		if f.Name == w.Member {
			member = f
			break
		}
	}
	if member == nil {
		return "", fmt.Errorf("wheel %q has no %q", wheelPath, w.Member)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating plugin directory %q: %w", dir, err)
	}
	plugin := filepath.Join(dir, backend.PluginFile)
	tmp, err := os.CreateTemp(dir, "."+backend.PluginFile+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("creating temporary plugin file in %q: %w", dir, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	rc, err := member.Open()
	if err != nil {
		tmp.Close()
		return "", fmt.Errorf("reading %q from wheel: %w", w.Member, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), rc)
	rc.Close()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o755)
	}
	if err != nil {
		return "", fmt.Errorf("copying %q out of the wheel: %w", w.Member, err)
	}
	pluginSum := hex.EncodeToString(h.Sum(nil))
	if w.PluginSHA256 != "" && pluginSum != w.PluginSHA256 {
		return "", fmt.Errorf("%q in wheel %q has sha256 %s, want %s", w.Member, wheelPath, pluginSum, w.PluginSHA256)
	}
	if err := os.Rename(tmp.Name(), plugin); err != nil {
		return "", fmt.Errorf("installing plugin %q: %w", plugin, err)
	}
	st := Stamp{Wheel: filepath.Base(wheelPath), WheelSHA256: sum, PluginSHA256: pluginSum, PluginSize: n}
	data, _ := json.MarshalIndent(st, "", "  ")
	if err := writeFileAtomic(plugin+StampSuffix, append(data, '\n')); err != nil {
		return "", err
	}
	return plugin, nil
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("writing %q: %w", path, werr)
	}
	return nil
}
