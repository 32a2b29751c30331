// Command fiberkernel registers, checks and runs the Jupyter kernel of fiberbnn (GoNB wired to this module).
//
// Usage:
//
//	fiberkernel install [--data-dir DIR] [--user]   register the "Go (fiberlib)" kernel (idempotent)
//	fiberkernel doctor  [--data-dir DIR]            check the set-up, print a fix for each problem; exit 1 if broken
//	fiberkernel run     [--out DIR] [--timeout S] [NOTEBOOK ...]
//	                                                execute notebooks headless (default: notebooks/*.ipynb)
//	fiberkernel pjrt install [--wheel FILE]         install the pinned PJRT CPU plugin into $FIBERBNN_HOME/pjrt
//	fiberkernel pjrt check PLUGIN.so                check that a file is a PJRT plugin (exports GetPjrtApi)
//
// The kernel is registered in $JUPYTER_DATA_DIR when set, else in the project's .venv/share/jupyter (seen by
// the project's JupyterLab only); --user registers it in ~/.local/share/jupyter for any Jupyter of this user.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/fiberbnn/fiberbnn/kernel/doctor"
	"github.com/fiberbnn/fiberbnn/kernel/kernelspec"
	"github.com/fiberbnn/fiberbnn/kernel/nbrun"
	"github.com/fiberbnn/fiberbnn/kernel/pjrt"
	"github.com/fiberbnn/fiberbnn/kernel/project"
)

const usage = `fiberkernel: the Jupyter kernel of fiberbnn (GoNB wired to this module)

  fiberkernel install [--data-dir DIR] [--user]     register the "Go (fiberlib)" kernel (idempotent)
  fiberkernel doctor  [--data-dir DIR]              check the set-up; exit 1 when something is broken
  fiberkernel run     [--out DIR] [--timeout S] [NOTEBOOK ...]
                                                    execute notebooks headless (default: notebooks/*.ipynb)
  fiberkernel pjrt install [--wheel FILE]           install the pinned PJRT CPU plugin into $FIBERBNN_HOME/pjrt
  fiberkernel pjrt check PLUGIN.so                  check that a file exports GetPjrtApi
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "install":
		err = cmdInstall(os.Args[2:])
	case "doctor":
		err = cmdDoctor(os.Args[2:])
	case "run":
		err = cmdRun(os.Args[2:])
	case "pjrt":
		err = cmdPJRT(os.Args[2:])
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "fiberkernel: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "fiberkernel:", err)
		}
		os.Exit(1)
	}
}

// errReported marks failures whose details were already printed.
var errReported = errors.New("failed")

func kernelFlags(fs *flag.FlagSet) (*string, *bool) {
	dataDir := fs.String("data-dir", "", "Jupyter data directory holding kernels/ (default: $JUPYTER_DATA_DIR, else .venv/share/jupyter)")
	user := fs.Bool("user", false, "use the per-user Jupyter data directory (~/.local/share/jupyter)")
	return dataDir, user
}

func kernelOptions(dataDir string, user bool) (kernelspec.Options, error) {
	opts := kernelspec.Options{DataDir: dataDir}
	if user {
		home, err := os.UserHomeDir()
		if err != nil {
			return opts, err
		}
		opts.DataDir = filepath.Join(home, ".local", "share", "jupyter")
	}
	return opts, nil
}

func cmdInstall(args []string) error {
	fs := flag.NewFlagSet("install", flag.ExitOnError)
	dataDir, user := kernelFlags(fs)
	_ = fs.Parse(args)
	p, err := project.Find("")
	if err != nil {
		return err
	}
	opts, err := kernelOptions(*dataDir, *user)
	if err != nil {
		return err
	}
	res, err := kernelspec.Install(p, opts)
	if err != nil {
		return err
	}
	if res.Changed {
		fmt.Printf("fiberkernel: kernel %q registered: %s\n", kernelspec.DefaultDisplayName, res.Path)
	} else {
		fmt.Printf("fiberkernel: kernel %q already registered: %s\n", kernelspec.DefaultDisplayName, res.Path)
	}
	if _, err := os.Stat(p.GoNB()); err != nil {
		fmt.Printf("fiberkernel: warning: %s is not built yet: run `make setup`\n", p.GoNB())
	}
	return nil
}

func cmdDoctor(args []string) error {
	fs := flag.NewFlagSet("doctor", flag.ExitOnError)
	dataDir, user := kernelFlags(fs)
	_ = fs.Parse(args)
	p, err := project.Find("")
	if err != nil {
		return err
	}
	opts, err := kernelOptions(*dataDir, *user)
	if err != nil {
		return err
	}
	r := doctor.Run(p, doctor.Options{Kernel: opts})
	r.Write(os.Stdout)
	if r.Broken() {
		return errReported
	}
	return nil
}

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	out := fs.String("out", "", "output directory for executed notebooks and HTML (default notebooks/_out)")
	timeout := fs.Int("timeout", 600, "per-cell timeout in seconds (a notebook's metadata fiberbnn.timeout_s overrides it)")
	dataDir, user := kernelFlags(fs)
	_ = fs.Parse(args)
	p, err := project.Find("")
	if err != nil {
		return err
	}
	opts, err := kernelOptions(*dataDir, *user)
	if err != nil {
		return err
	}
	notebooks := fs.Args()
	if len(notebooks) == 0 {
		notebooks, _ = filepath.Glob(filepath.Join(p.Root, "notebooks", "*.ipynb"))
		sort.Strings(notebooks)
		if len(notebooks) == 0 {
			return fmt.Errorf("no notebooks in %s", filepath.Join(p.Root, "notebooks"))
		}
	}
	_, err = nbrun.Run(p, notebooks, nbrun.Options{OutDir: *out, TimeoutSeconds: *timeout, Kernel: opts})
	return err
}

func cmdPJRT(args []string) error {
	if len(args) == 0 {
		return errors.New("pjrt: want `install` or `check`")
	}
	switch args[0] {
	case "install":
		fs := flag.NewFlagSet("pjrt install", flag.ExitOnError)
		wheel := fs.String("wheel", "", "use this downloaded wheel instead of downloading "+pjrt.WheelFile)
		_ = fs.Parse(args[1:])
		p, err := project.Find("")
		if err != nil {
			return err
		}
		pip := filepath.Join(p.Venv, "bin", "pip")
		plugin, changed, err := pjrt.Install(pip, *wheel, p.PluginDir, os.Stdout)
		if err != nil {
			return err
		}
		if changed {
			fmt.Printf("fiberkernel: PJRT CPU plugin installed: %s\n", plugin)
		} else {
			fmt.Printf("fiberkernel: PJRT CPU plugin already installed and verified: %s\n", plugin)
		}
		return nil
	case "check":
		if len(args) != 2 {
			return errors.New("pjrt check: want one plugin path")
		}
		if err := pjrt.CheckPlugin(args[1]); err != nil {
			return err
		}
		fmt.Printf("fiberkernel: %s exports %s\n", args[1], pjrt.EntryPoint)
		return nil
	}
	return fmt.Errorf("pjrt: unknown subcommand %q: want `install` or `check`", args[0])
}
