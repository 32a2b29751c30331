package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
)

// meta describes a run: the exact command, machine, backend and versions.
type meta struct {
	Command     string               `json:"command"`
	Mode        string               `json:"mode"`
	Started     string               `json:"started"`
	Finished    string               `json:"finished,omitempty"`
	WallSeconds float64              `json:"wall_s"`
	Interrupted bool                 `json:"interrupted,omitempty"`
	Seed        uint64               `json:"seed"`
	Methods     []string             `json:"methods"`
	Studies     map[string]studyMeta `json:"studies"`
	DataDir     string               `json:"data_dir"`
	Activation  string               `json:"uci_activation"`
	Machine     machine              `json:"machine"`
	Backend     string               `json:"backend"`
	GoVersion   string               `json:"go_version"`
	GoMLX       string               `json:"gomlx_version"`
	Compute     string               `json:"compute_version"`
	GitCommit   string               `json:"git_commit,omitempty"`
	Note        string               `json:"note"`
	// Runs lists the earlier invocations whose cells a -resume run kept, oldest first.
	Runs []runRecord `json:"earlier_runs,omitempty"`
}

// runRecord is one earlier invocation of a resumed run.
type runRecord struct {
	Command   string               `json:"command"`
	Started   string               `json:"started"`
	Finished  string               `json:"finished,omitempty"`
	GitCommit string               `json:"git_commit,omitempty"`
	Backend   string               `json:"backend,omitempty"`
	Studies   map[string]studyMeta `json:"studies"`
}

// mergePrevious keeps, on -resume, the record of the run(s) that wrote dir/meta.json: their commands go to
// Runs, and their studies' sets and splits stay in the tables' headers.
func (m *meta) mergePrevious(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return
	}
	var prev meta
	if json.Unmarshal(b, &prev) != nil {
		return
	}
	m.Runs = append(prev.Runs, runRecord{Command: prev.Command, Started: prev.Started, Finished: prev.Finished,
		GitCommit: prev.GitCommit, Backend: prev.Backend, Studies: prev.Studies})
	for k, v := range prev.Studies {
		m.Studies[k] = v
	}
}

// addStudy records the sets and splits of a study run now, merged with those of earlier runs (union of the
// sets, the largest number of splits); Settings are this run's.
func (m *meta) addStudy(study string, sets []string, splits int, cfg settings) {
	old, ok := m.Studies[study]
	if ok {
		seen := map[string]bool{}
		for _, s := range sets {
			seen[s] = true
		}
		for _, s := range old.Sets {
			if !seen[s] {
				sets = append(sets, s)
			}
		}
		splits = max(splits, old.Splits)
	}
	m.Studies[study] = studyMeta{Sets: sets, Splits: splits, Settings: cfg}
}

type studyMeta struct {
	Sets     []string `json:"sets"`
	Splits   int      `json:"splits"`
	Settings settings `json:"settings"`
}

type machine struct {
	NumCPU   int    `json:"nproc"`
	CPUModel string `json:"cpu_model"`
	OS       string `json:"os"`
	MemTotal string `json:"mem_total,omitempty"`
}

func newMeta(fl flags, quick bool, studies, methods []string) *meta {
	m := &meta{
		Command: "go run ./cmd/fiberbench " + strings.Join(os.Args[1:], " "),
		Mode:    fl.mode, Started: time.Now().UTC().Format(time.RFC3339), Seed: fl.seed, Methods: methods,
		Studies: map[string]studyMeta{}, DataDir: portablePath(fl.dataDir), Activation: fl.act,
		Machine:   machine{NumCPU: runtime.NumCPU(), CPUModel: cpuInfo("model name"), OS: runtime.GOOS + "/" + runtime.GOARCH, MemTotal: memInfo()},
		Backend:   portablePath(backend.Chosen().String()),
		GoVersion: runtime.Version(),
		Note: "Timings are wall-clock on a machine shared with other jobs (noisy); fit times include XLA " +
			"compilation. Peak RSS is the process's (monotone over the run), not per method.",
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/gomlx/gomlx":
				m.GoMLX = d.Version
			case "github.com/gomlx/compute":
				m.Compute = d.Version
			}
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				m.GitCommit = s.Value
			}
		}
	}
	if m.GitCommit == "" {
		if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
			m.GitCommit = strings.TrimSpace(string(out))
		}
	}
	return m
}

func cpuInfo(key string) string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memInfo() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "MemTotal:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:"))
		}
	}
	return ""
}

func (m *meta) json() ([]byte, error) { return json.MarshalIndent(m, "", " ") }

// portablePath writes s (a path, or a text holding paths) without what belongs to this machine: the home
// folder becomes "~" and a folder beside the checkout's parent, such as the shared data, "../name", so that
// committed results name no user's directories.
func portablePath(s string) string {
	if wd, err := os.Getwd(); err == nil {
		if parent := filepath.Dir(wd); parent != "/" && parent != "." {
			s = strings.ReplaceAll(s, parent+"/", "../")
		}
	}
	if home, err := os.UserHomeDir(); err == nil && home != "/" && home != "" {
		s = strings.ReplaceAll(s, home+"/", "~/")
	}
	return s
}
