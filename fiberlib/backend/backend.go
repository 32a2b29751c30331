// Package backend chooses and creates the compute backend that fiberlib runs on, and says which one and why.
//
// Policy, in order:
//  1. GOMLX_BACKEND, when set, is obeyed as is ("go", "xla:cpu", "xla:/abs/path/plugin.so", ...).
//  2. Otherwise, when a PJRT CPU plugin file (pjrt_c_api_cpu_plugin.so) is found, XLA on CPU is used through
//     that file's absolute path (no search, no download).
//  3. Otherwise the pure-Go backend is used. It always works but is slow; the announcement says so and
//     how to install the plugin (`make setup`).
//
// Plugin search order: every directory in PJRT_PLUGIN_LIBRARY_PATH (colon-separated), then
// $FIBERBNN_HOME/pjrt (default ~/.cache/fiberbnn/pjrt, where `make setup` installs it), then
// ~/.local/lib/go-xla and /usr/local/lib/go-xla (GoMLX's own default locations).
//
// The choice is announced once per process on standard error, as one line starting with "fiberlib: backend".
package backend

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gomlx/compute"

	// Registers the "xla" and "go" backends.
	_ "github.com/gomlx/gomlx/backends/default"
)

// PluginFile is the file name of the PJRT CPU plugin that fiberlib looks for.
const PluginFile = "pjrt_c_api_cpu_plugin.so"

// Choice is the backend fiberlib will use, with the reason for it.
type Choice struct {
	// Config is the GoMLX backend configuration string, e.g. "go" or "xla:/abs/path/pjrt_c_api_cpu_plugin.so".
	Config string
	// Kind is a short name: "xla-cpu", "xla-cuda", "xla" (another plugin), or "go".
	Kind string
	// PluginPath is the PJRT plugin file used, if any.
	PluginPath string
	// Reason says why this backend was chosen, in words a user can act on.
	Reason string
	// Fallback is true when the pure-Go backend was chosen because no plugin was found.
	Fallback bool
}

// String returns the one-line announcement of the choice.
func (c Choice) String() string {
	return fmt.Sprintf("fiberlib: backend %s (%s)", c.Kind, c.Reason)
}

// Home returns fiberbnn's cache directory: $FIBERBNN_HOME, or ~/.cache/fiberbnn.
func Home() string {
	if h := os.Getenv("FIBERBNN_HOME"); h != "" {
		return h
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "fiberbnn")
	}
	return filepath.Join(os.TempDir(), "fiberbnn")
}

// SearchPath lists the directories searched for the PJRT CPU plugin, in order.
func SearchPath() []string {
	var dirs []string
	for _, d := range filepath.SplitList(os.Getenv("PJRT_PLUGIN_LIBRARY_PATH")) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	dirs = append(dirs, filepath.Join(Home(), "pjrt"))
	if h, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(h, ".local", "lib", "go-xla"))
	}
	dirs = append(dirs, "/usr/local/lib/go-xla")
	return dirs
}

// FindCPUPlugin returns the absolute path of the first PJRT CPU plugin found on SearchPath, or "".
func FindCPUPlugin() string {
	for _, d := range SearchPath() {
		p := filepath.Join(d, PluginFile)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
			if abs, err := filepath.Abs(p); err == nil {
				return abs
			}
			return p
		}
	}
	return ""
}

// Choose decides which backend to use, following the package policy. It has no side effects.
func Choose() Choice {
	if cfg, ok := os.LookupEnv(compute.ConfigEnvVar); ok && cfg != "" {
		c := Choice{Config: cfg, Reason: "GOMLX_BACKEND=" + cfg + " was set"}
		name, rest, _ := strings.Cut(cfg, ":")
		switch {
		case name == "go":
			c.Kind = "go"
		case name == "xla" && (rest == "" || rest == "cpu" || strings.HasSuffix(rest, PluginFile)):
			c.Kind = "xla-cpu"
		case name == "xla" && strings.Contains(rest, "cuda"):
			c.Kind = "xla-cuda"
		default:
			c.Kind = name
		}
		if strings.HasPrefix(rest, "/") {
			c.PluginPath = rest
		}
		return c
	}
	if p := FindCPUPlugin(); p != "" {
		return Choice{Config: "xla:" + p, Kind: "xla-cpu", PluginPath: p,
			Reason: "XLA on CPU via the PJRT plugin " + p}
	}
	return Choice{Config: "go", Kind: "go", Fallback: true,
		Reason: "pure Go, SLOW: no PJRT CPU plugin (" + PluginFile + ") found in " +
			strings.Join(SearchPath(), ":") + "; run `make setup` to install it, or set GOMLX_BACKEND"}
}

var (
	mu       sync.Mutex
	shared   compute.Backend
	chosen   Choice
	announce = true
)

// SetQuiet turns the one-line announcement off (true) or on (false) for the backends created afterwards.
func SetQuiet(quiet bool) {
	mu.Lock()
	defer mu.Unlock()
	announce = !quiet
}

// New returns the process-wide backend, creating it on first use according to Choose, and announcing it on
// standard error once. Later calls return the same backend.
func New() (compute.Backend, error) {
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		return shared, nil
	}
	c := Choose()
	if c.Kind == "xla-cpu" || c.PluginPath != "" {
		// Never let GoMLX try to download a plugin: we either have a file or we fall back.
		if _, ok := os.LookupEnv("GOMLX_NO_AUTO_INSTALL"); !ok {
			_ = os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
		}
	}
	b, err := newWithConfig(c.Config)
	if err != nil {
		return nil, fmt.Errorf("fiberlib: creating backend %q (%s): %w", c.Config, c.Reason, err)
	}
	shared, chosen = b, c
	if announce {
		fmt.Fprintln(os.Stderr, c.String())
	}
	return b, nil
}

// MustNew is like New but panics on error; for notebooks and tests.
func MustNew() compute.Backend {
	b, err := New()
	if err != nil {
		panic(err)
	}
	return b
}

// Chosen returns the Choice of the backend New created, or Choose() if none was created yet.
func Chosen() Choice {
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		return chosen
	}
	return Choose()
}

// NewWithConfig creates a fresh backend for an explicit configuration string ("go", "xla:cpu", or
// "xla:/path/plugin.so"), converting panics from the backend registry into errors. Used to compare
// backends side by side.
func NewWithConfig(config string) (compute.Backend, error) {
	return newWithConfig(config)
}

func newWithConfig(config string) (b compute.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return compute.NewWithConfig(config)
}

// IsGo reports whether b is the pure-Go backend.
func IsGo(b compute.Backend) bool {
	return b.Name() == "Go Backend" || strings.HasPrefix(b.Name(), "go")
}
