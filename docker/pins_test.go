package docker

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/kernel/pjrt"
)

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TestVersionsMatchProject checks every version docker/versions.env pins against the file where the project
// pins it: one source of truth per version, and a test that fails when the two drift apart.
func TestVersionsMatchProject(t *testing.T) {
	v := readVersions(t, "versions.env")
	root := readGoMod(t, filepath.Join(repoRoot, "go.mod"))
	tools := readGoMod(t, filepath.Join(repoRoot, "kernel", "tools", "go.mod"))
	req := requirementPins(t, filepath.Join(repoRoot, "kernel", "requirements.txt"))
	reqIn := requirementPins(t, filepath.Join(repoRoot, "kernel", "requirements.in"))
	pjrtReq := requirementPins(t, filepath.Join(repoRoot, "kernel", "pjrt-requirements.txt"))

	same := func(what, env, want, where string) {
		t.Helper()
		if got := v[env]; got != want {
			t.Errorf("%s: versions.env has %s=%q, but %s pins %q", what, env, got, where, want)
		}
	}
	same("Go", "GO_VERSION", root.Go, "go.mod's go directive")
	same("GoMLX", "GOMLX_VERSION", root.Require["github.com/gomlx/gomlx"], "go.mod")
	same("GoMLX backends", "GOMLX_COMPUTE_VERSION", root.Require["github.com/gomlx/compute"], "go.mod")
	same("GoNB", "GONB_VERSION", root.Require["github.com/janpfeifer/gonb"], "go.mod")
	same("GoNB (kernel tool)", "GONB_VERSION", tools.Require["github.com/janpfeifer/gonb"], "kernel/tools/go.mod")
	same("goimports", "GOIMPORTS_X_TOOLS_VERSION", tools.Require["golang.org/x/tools"], "kernel/tools/go.mod")
	for _, tool := range []string{"github.com/janpfeifer/gonb", "golang.org/x/tools/cmd/goimports"} {
		if !contains(tools.Tools, tool) {
			t.Errorf("kernel/tools/go.mod has no `tool %s`: the image builds bin/ from that module", tool)
		}
	}
	for _, p := range []struct{ env, name string }{
		{"JUPYTERLAB_VERSION", "jupyterlab"}, {"NBCLIENT_VERSION", "nbclient"}, {"NBCONVERT_VERSION", "nbconvert"},
	} {
		same(p.name, p.env, req[p.name], "kernel/requirements.txt")
		same(p.name, p.env, reqIn[p.name], "kernel/requirements.in")
	}
	same("PJRT CPU wheel", "PJRT_CPU_WHEEL", pjrt.WheelProject, "kernel/pjrt (WheelProject)")
	same("PJRT CPU wheel", "PJRT_CPU_VERSION", pjrt.WheelVersion, "kernel/pjrt (WheelVersion)")
	same("PJRT CPU wheel", "PJRT_CPU_VERSION", pjrtReq[normalizeName(pjrt.WheelProject)], "kernel/pjrt-requirements.txt")
	same("PJRT CPU wheel sha256", "PJRT_CPU_WHEEL_SHA256", pjrt.WheelSHA256, "kernel/pjrt (WheelSHA256)")
	same("PJRT CPU plugin sha256", "PJRT_CPU_PLUGIN_SHA256", pjrt.PluginSHA256, "kernel/pjrt (PluginSHA256)")
	// The CUDA plugin and the CPU plugin come from the same XLA (jaxlib's); GoMLX is checked against that one.
	same("CUDA PJRT plugin", "CUDA_PJRT_VERSION", pjrt.WheelVersion, "the PJRT CPU wheel (same XLA release)")

	if !sha256Hex.MatchString(v["GO_LINUX_AMD64_SHA256"]) {
		t.Errorf("GO_LINUX_AMD64_SHA256=%q is not a sha256", v["GO_LINUX_AMD64_SHA256"])
	}
	if v["GO_URL_BASE"] != "https://go.dev/dl" {
		t.Errorf("GO_URL_BASE=%q: want the official https://go.dev/dl", v["GO_URL_BASE"])
	}
	if d := v["CUDA_DEFAULT"]; d != "13" && d != "12" {
		t.Errorf("CUDA_DEFAULT=%q: want 13 or 12", d)
	}
	for _, pkg := range []string{"tini", "python3", "python3-venv", "gcc", "libc6-dev", "ca-certificates", "dataset-fashion-mnist"} {
		if !contains(strings.Fields(v["DEBIAN_PACKAGES"]), pkg) {
			t.Errorf("DEBIAN_PACKAGES lacks %s", pkg)
		}
	}
	if v["IMAGE_USER"] == "" || v["IMAGE_USER"] == "root" {
		t.Errorf("IMAGE_USER=%q: want a non-root user name", v["IMAGE_USER"])
	}
}

// TestCUDARequirements checks the GPU image's wheel lists: every line an exact pin with one sha256, the PJRT
// plugin at CUDA_PJRT_VERSION, and each NVIDIA library JAX's CUDA plugin needs, once.
func TestCUDARequirements(t *testing.T) {
	v := readVersions(t, "versions.env")
	line := regexp.MustCompile(`^([a-z0-9][a-z0-9.-]*)==([0-9][0-9A-Za-z.+-]*) --hash=sha256:([0-9a-f]{64})(\s+#.*)?$`)
	libs := []string{"cublas", "cuda-cupti", "cuda-nvcc", "cuda-nvrtc", "cuda-runtime", "cudnn", "cufft", "cusolver",
		"cusparse", "nccl", "nvjitlink", "nvshmem"}
	for _, cu := range []string{"13", "12"} {
		path := "cuda" + cu + "-requirements.txt"
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		pins := map[string]string{}
		for i, l := range strings.Split(string(data), "\n") {
			if l = strings.TrimSpace(l); l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			m := line.FindStringSubmatch(l)
			if m == nil {
				t.Errorf("%s:%d: %q is not `name==version --hash=sha256:<64 hex>`", path, i+1, l)
				continue
			}
			if _, dup := pins[m[1]]; dup {
				t.Errorf("%s:%d: %s pinned twice", path, i+1, m[1])
			}
			pins[m[1]] = m[2]
		}
		if got := pins["jax-cuda"+cu+"-pjrt"]; got != v["CUDA_PJRT_VERSION"] {
			t.Errorf("%s pins jax-cuda%s-pjrt==%q, want CUDA_PJRT_VERSION %q (rerun docker/pin-cuda.sh)", path, cu, got, v["CUDA_PJRT_VERSION"])
		}
		for _, lib := range libs {
			found := ""
			for name := range pins {
				base := strings.TrimSuffix(strings.TrimPrefix(name, "nvidia-"), "-cu"+cu)
				if strings.HasPrefix(name, "nvidia-") && base == lib {
					found = name
				}
			}
			if found == "" {
				t.Errorf("%s has no NVIDIA %s library (nvidia-%s or nvidia-%s-cu%s)", path, lib, lib, lib, cu)
			}
		}
		for name := range pins {
			if strings.HasSuffix(name, "-cu12") && cu == "13" || strings.HasSuffix(name, "-cu13") && cu == "12" {
				t.Errorf("%s mixes CUDA versions: %s", path, name)
			}
		}
	}
}

// dockerfile is a Dockerfile split into instructions (continuation lines joined, comments dropped).
type dockerfile []struct{ Op, Args string }

func readDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	var df dockerfile
	cur := ""
	for _, l := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur == "") {
			continue
		}
		cur += " " + strings.TrimSuffix(trimmed, `\`)
		if strings.HasSuffix(trimmed, `\`) {
			continue
		}
		op, args, _ := strings.Cut(strings.TrimSpace(cur), " ")
		df = append(df, struct{ Op, Args string }{strings.ToUpper(op), strings.TrimSpace(args)})
		cur = ""
	}
	return df
}

func (df dockerfile) all(op string) []string {
	var out []string
	for _, in := range df {
		if in.Op == op {
			out = append(out, in.Args)
		}
	}
	return out
}

// args returns the default of every ARG (the first declaration with a value wins; a later bare `ARG NAME`
// only brings a pre-FROM ARG into the build stage).
func (df dockerfile) args() map[string]string {
	out := map[string]string{}
	for _, a := range df.all("ARG") {
		k, val, hasValue := strings.Cut(a, "=")
		if _, seen := out[k]; !seen || hasValue {
			out[k] = val
		}
	}
	return out
}

// stageArgs returns the ARGs declared after FROM (the only ones RUN, LABEL, USER... can use).
func (df dockerfile) stageArgs() map[string]bool {
	out := map[string]bool{}
	afterFrom := false
	for _, in := range df {
		if in.Op == "FROM" {
			afterFrom = true
		}
		if afterFrom && in.Op == "ARG" {
			k, _, _ := strings.Cut(in.Args, "=")
			out[k] = true
		}
	}
	return out
}

// TestDockerfile checks the Dockerfile's own pins and promises.
func TestDockerfile(t *testing.T) {
	v := readVersions(t, "versions.env")
	df := readDockerfile(t, "Dockerfile")
	args := df.args()

	base := args["BASE_IMAGE"]
	if base != v["BASE_IMAGE"] {
		t.Errorf("Dockerfile ARG BASE_IMAGE=%q, versions.env BASE_IMAGE=%q: they must be the same string", base, v["BASE_IMAGE"])
	}
	pinned := regexp.MustCompile(`^[a-z0-9]+([._/-][a-z0-9]+)*:([A-Za-z0-9._-]+)@sha256:[0-9a-f]{64}$`)
	if m := pinned.FindStringSubmatch(base); m == nil {
		t.Errorf("base image %q is not pinned as name:tag@sha256:<digest>", base)
	} else if m[2] == "latest" || !regexp.MustCompile(`[0-9]{8}`).MatchString(m[2]) {
		t.Errorf("base image tag %q: want a dated tag (e.g. bookworm-20260918-slim), not a moving one", m[2])
	}
	if froms := df.all("FROM"); len(froms) != 1 || froms[0] != "${BASE_IMAGE}" {
		t.Errorf("FROM lines %q: want exactly one, FROM ${BASE_IMAGE}", froms)
	}
	if uid := args["USER_UID"]; uid == "" || uid == "0" || strings.Trim(uid, "0123456789") != "" {
		t.Errorf("ARG USER_UID=%q: want a fixed non-zero numeric UID", uid)
	}
	if users := df.all("USER"); len(users) != 1 || users[0] != "${USER_UID}:${USER_UID}" {
		t.Errorf("USER lines %q: want one, USER ${USER_UID}:${USER_UID}", users)
	}
	home := "/home/" + v["IMAGE_USER"]
	if vols := df.all("VOLUME"); len(vols) != 1 || vols[0] != home+"/work" {
		t.Errorf("VOLUME lines %q: want one, VOLUME %s/work", vols, home)
	}
	if !contains(df.all("ENV"), "HOME="+home) {
		t.Errorf("no ENV HOME=%s after USER", home)
	}
	if eps := df.all("ENTRYPOINT"); len(eps) != 1 || !strings.HasPrefix(eps[0], `["/usr/bin/tini", "--",`) {
		t.Errorf("ENTRYPOINT %q: want tini as PID 1 ([\"/usr/bin/tini\", \"--\", ...])", eps)
	}
	if hcs := df.all("HEALTHCHECK"); len(hcs) != 1 || !strings.Contains(hcs[0], "docker/healthcheck.sh") {
		t.Errorf("HEALTHCHECK %q: want one, running docker/healthcheck.sh", hcs)
	}
	if exp := df.all("EXPOSE"); len(exp) != 1 || exp[0] != "8888" {
		t.Errorf("EXPOSE %q: want 8888", exp)
	}
	if data, _ := os.ReadFile("Dockerfile"); strings.HasPrefix(string(data), "# syntax=") {
		t.Errorf("Dockerfile starts with a # syntax= line: BuildKit would pull that frontend image, unpinned")
	}
	for _, in := range df {
		all := in.Op + " " + in.Args
		for _, bad := range []string{"git clone", ":latest", "| sh", "|sh", "| bash", "--allow-root"} {
			if strings.Contains(all, bad) {
				t.Errorf("Dockerfile instruction %q contains %q", all, bad)
			}
		}
	}
	// The three install steps run the recipe script, each with the step it needs.
	var steps []string
	for _, r := range df.all("RUN") {
		m := regexp.MustCompile(`docker/install\.sh ([a-z]+)$|/recipe/install\.sh ([a-z]+)$`).FindStringSubmatch(r)
		if m == nil {
			t.Errorf("RUN %q does not run docker/install.sh", r)
			continue
		}
		steps = append(steps, m[1]+m[2])
	}
	if strings.Join(steps, ",") != "root,cuda,project" {
		t.Errorf("install steps %q: want root, cuda, project in that order", steps)
	}
	// Every ARG used after FROM is declared after FROM (a pre-FROM ARG is empty there otherwise).
	stage := df.stageArgs()
	afterFrom := false
	for _, in := range df {
		if in.Op == "FROM" {
			afterFrom = true
			continue
		}
		if !afterFrom || in.Op == "ENV" {
			continue
		}
		for _, m := range regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)`).FindAllStringSubmatch(in.Args, -1) {
			if !stage[m[1]] {
				t.Errorf("%s uses ${%s}, which no ARG after FROM declares", in.Op, m[1])
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
