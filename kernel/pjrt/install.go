package pjrt

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
)

// Install makes sure dir holds the pinned plugin. When Installed(dir, DefaultWheel) already holds, it does
// nothing and returns changed false. Otherwise it downloads the pinned wheel with pip (the virtual
// environment's pip executable) into a temporary directory, verifies and extracts it with ExtractFromWheel,
// and removes the download. When wheel is not empty, that local file is used instead of downloading.
// Progress goes to log.
func Install(pip, wheel, dir string, log io.Writer) (plugin string, changed bool, err error) {
	plugin = filepath.Join(dir, backend.PluginFile)
	if Installed(dir, DefaultWheel) == nil {
		return plugin, false, nil
	}
	if wheel == "" {
		if !Supported() {
			return "", false, ErrUnsupportedPlatform
		}
		tmp, err := os.MkdirTemp("", "fiberbnn-pjrt-")
		if err != nil {
			return "", false, fmt.Errorf("creating download directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		req := filepath.Join(tmp, "requirements.txt")
		line := fmt.Sprintf("%s==%s --hash=sha256:%s\n", WheelProject, WheelVersion, WheelSHA256)
		if err := os.WriteFile(req, []byte(line), 0o644); err != nil {
			return "", false, err
		}
		fmt.Fprintf(log, "fiberkernel: downloading %s==%s from PyPI (about 63 MB) ...\n", WheelProject, WheelVersion)
		cmd := exec.Command(pip, "download", "--no-deps", "--only-binary=:all:", "--require-hashes",
			"--disable-pip-version-check", "-q", "-r", req, "-d", tmp)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return "", false, fmt.Errorf("pip download of %s==%s failed (%v): check access to PyPI, or pass --wheel with a downloaded %s", WheelProject, WheelVersion, err, WheelFile)
		}
		wheel = filepath.Join(tmp, WheelFile)
	}
	fmt.Fprintf(log, "fiberkernel: extracting %s into %s\n", WheelMember, dir)
	p, err := ExtractFromWheel(wheel, dir, DefaultWheel)
	if err != nil {
		return "", false, err
	}
	if err := CheckPlugin(p); err != nil {
		return "", false, err
	}
	return p, true, nil
}
