package data

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// EnvDataDir is the environment variable that names the reference data directory (the folder that holds
// uci-regression/, uci-classification/, toy/ and mnist-test/).
const EnvDataDir = "FIBERBNN_DATA"

// DataFlagName is the name of the command-line flag registered by RegisterDirFlag.
const DataFlagName = "data"

var (
	dirMu       sync.Mutex
	dirOverride string
)

// SetDir makes Dir return path (after checking it) instead of consulting $FIBERBNN_DATA and the search. An
// empty path removes the override.
func SetDir(path string) {
	dirMu.Lock()
	defer dirMu.Unlock()
	dirOverride = path
}

// RegisterDirFlag registers the -data flag on fs (flag.CommandLine when fs is nil): when given, it overrides
// $FIBERBNN_DATA and the search done by Dir.
func RegisterDirFlag(fs *flag.FlagSet) {
	if fs == nil {
		fs = flag.CommandLine
	}
	fs.Func(DataFlagName, "reference data directory holding uci-regression/, uci-classification/, toy/, mnist-test/ "+
		"(default: $"+EnvDataDir+", else shared/data found beside the module)", func(s string) error {
		if s == "" {
			return errors.New("empty path")
		}
		SetDir(s)
		return nil
	})
}

// knownSubdirs are the folders of the reference data directory; a candidate directory must hold one of them.
var knownSubdirs = []string{"uci-regression", "uci-classification", "toy", "mnist-test"}

// Dir returns the reference data directory. In order: the path given to SetDir or the -data flag; else
// $FIBERBNN_DATA; else the first of ./shared/data, ../shared/data, ../../shared/data, ... found walking up
// from the working directory to the filesystem root (so tests running inside a package directory find the
// shared/ folder laid beside the checkout). A directory given explicitly must exist; a searched one must hold
// at least one of the known folders. The error lists every place looked at and how to set the directory.
func Dir() (string, error) {
	dirMu.Lock()
	override := dirOverride
	dirMu.Unlock()
	if override != "" {
		return checkExplicitDir(override, "-data flag / SetDir")
	}
	if env := os.Getenv(EnvDataDir); env != "" {
		return checkExplicitDir(env, "$"+EnvDataDir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("data directory: cannot read the working directory (%w): set $%s to the data directory", err, EnvDataDir)
	}
	var looked []string
	for d := wd; ; {
		cand := filepath.Join(d, "shared", "data")
		looked = append(looked, cand)
		if looksLikeDataDir(cand) {
			return cand, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return "", fmt.Errorf("data directory not found: $%s is not set, and no shared/data holding %s was found; looked in:\n  %s\n"+
		"set $%s=/path/to/data (the folder with uci-regression/ etc.), or pass -%s /path/to/data, or call data.SetDir",
		EnvDataDir, strings.Join(knownSubdirs, "/, "), strings.Join(looked, "\n  "), EnvDataDir, DataFlagName)
}

// MustDir is Dir for notebooks: it panics with Dir's error.
func MustDir() string {
	d, err := Dir()
	if err != nil {
		panic(err)
	}
	return d
}

func checkExplicitDir(path, from string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("data directory %q (from %s): %w: fix the path, or unset it to search for shared/data", path, from, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("data directory %q (from %s) is not a directory: point it at the folder holding uci-regression/ etc.", path, from)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path, nil
	}
	return abs, nil
}

func looksLikeDataDir(path string) bool {
	for _, sub := range knownSubdirs {
		if st, err := os.Stat(filepath.Join(path, sub)); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}
