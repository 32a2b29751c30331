package doctor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/fiberbnn/fiberbnn/kernel/project"
)

// CUDAPluginName is the file name of JAX's CUDA PJRT plugin.
const CUDAPluginName = "xla_cuda_plugin.so"

// cudaPluginGlobs are the places searched for JAX's CUDA plugin (site-packages/jax_plugins/xla_cuda*/).
var cudaPluginGlobs = []string{
	"/opt/*/.venv/lib/python3*/site-packages/jax_plugins/xla_cuda*/" + CUDAPluginName,
	"/opt/*/lib/python3*/site-packages/jax_plugins/xla_cuda*/" + CUDAPluginName,
	"/usr/local/lib/python3*/dist-packages/jax_plugins/xla_cuda*/" + CUDAPluginName,
	"/usr/lib/python3/dist-packages/jax_plugins/xla_cuda*/" + CUDAPluginName,
	"~/.local/lib/python3*/site-packages/jax_plugins/xla_cuda*/" + CUDAPluginName,
	"~/.pyenv/versions/*/lib/python3*/site-packages/jax_plugins/xla_cuda*/" + CUDAPluginName,
	"{venv}/lib/python3*/site-packages/jax_plugins/xla_cuda*/" + CUDAPluginName,
}

// FindCUDAPlugins returns the JAX CUDA plugins found in the usual Python install locations, plus the
// directories in $FIBERBNN_CUDA_PLUGIN_GLOB (colon-separated globs), if set.
func FindCUDAPlugins(venv string) []string {
	home, _ := os.UserHomeDir()
	globs := append([]string{}, cudaPluginGlobs...)
	globs = append(globs, filepath.SplitList(os.Getenv("FIBERBNN_CUDA_PLUGIN_GLOB"))...)
	seen := map[string]bool{}
	var out []string
	for _, g := range globs {
		g = strings.Replace(g, "~", home, 1)
		g = strings.Replace(g, "{venv}", venv, 1)
		matches, _ := filepath.Glob(g)
		for _, m := range matches {
			if abs, err := filepath.Abs(m); err == nil && !seen[abs] {
				seen[abs] = true
				out = append(out, abs)
			}
		}
	}
	return out
}

// gpuNames returns the names of the NVIDIA GPUs nvidia-smi lists, or nil.
func gpuNames() []string {
	if _, err := os.Stat("/dev/nvidiactl"); err != nil {
		if _, err := exec.LookPath("nvidia-smi"); err != nil {
			return nil
		}
	}
	out, err := exec.Command("nvidia-smi", "--query-gpu=name", "--format=csv,noheader").Output()
	if err != nil {
		return []string{"an NVIDIA device (nvidia-smi failed: " + err.Error() + ")"}
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	return names
}

func checkGPU(p project.Paths) Check {
	c := Check{Name: "gpu", Status: Info}
	gpus := gpuNames()
	plugins := FindCUDAPlugins(p.Venv)
	switch {
	case len(gpus) == 0 && len(plugins) == 0:
		c.Detail = "no NVIDIA GPU found (fine: XLA on CPU is the default)"
	case len(gpus) == 0:
		c.Detail = fmt.Sprintf("JAX CUDA plugin at %s, but no NVIDIA GPU visible", plugins[0])
	case len(plugins) == 0:
		c.Detail = fmt.Sprintf("GPU %s, but no JAX CUDA plugin (%s) found; to use it, install jax[cuda] "+
			"into a Python environment and set GOMLX_BACKEND=xla:/abs/path/to/%s", strings.Join(gpus, ", "), CUDAPluginName, CUDAPluginName)
	default:
		c.Detail = fmt.Sprintf("GPU %s with JAX's CUDA plugin; to use it: export GOMLX_BACKEND=xla:%s "+
			"GOMLX_NO_AUTO_INSTALL=1 GOPJRT_CUDA_CHECKS=0 before `make lab`", strings.Join(gpus, ", "), plugins[0])
	}
	return c
}
