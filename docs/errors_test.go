// Package docs holds the test that keeps docs/errors.md true: every error the table documents is
// triggered here, and must contain the documented fragments; every row of the table must be triggered.
package docs

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
	"github.com/fiberbnn/fiberbnn/fiberlib/flow"
	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/samples"
	"github.com/fiberbnn/fiberbnn/fiberlib/train"
	"github.com/fiberbnn/fiberbnn/kernel/doctor"
	"github.com/fiberbnn/fiberbnn/kernel/kernelspec"
	"github.com/fiberbnn/fiberbnn/kernel/nbrun"
	"github.com/fiberbnn/fiberbnn/kernel/pjrt"
	"github.com/fiberbnn/fiberbnn/kernel/project"
)

// trigger is one documented error: the fragments of its row in docs/errors.md, in order, and a function
// that provokes it.
type trigger struct {
	fragments []string
	run       func(t *testing.T) error
}

// write writes content to a new file in dir and returns its path.
func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// linear returns a small regression set and a linear network on it.
func linear(t *testing.T) (*data.Dataset, *posterior.Network) {
	t.Helper()
	ds := &data.Dataset{Name: "lin", Task: data.Regression, N: 4, D: 2, T: 1,
		X: []float32{0, 1, 1, 0, 1, 1, 2, 1}, Y: []float32{1, 0, 2, 3}}
	net, err := posterior.NewNetwork(nets.MLP(2, nil, 1, nets.Identity), ds, posterior.NetworkOptions{Sigma: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	return ds, net
}

// savedSet writes a valid sample set file and returns its path and bytes.
func savedSet(t *testing.T, dir string) (string, []byte) {
	t.Helper()
	path := filepath.Join(dir, "set.fbs")
	s := samples.MustNew(2, 3, []float32{1, 2, 3, 4, 5, 6}, samples.Meta{Method: "fiber"})
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

// fakeCheckout returns project paths of an empty checkout in a temporary directory: no venv, no tools, no
// kernel, no plugin.
func fakeCheckout(t *testing.T) project.Paths {
	root := t.TempDir()
	write(t, root, "go.mod", "module "+project.ModulePath+"\n")
	t.Setenv("FIBERBNN_HOME", filepath.Join(root, "home"))
	t.Setenv(kernelspec.DataDirEnv, filepath.Join(root, "jupyter"))
	t.Setenv(project.DataEnv, filepath.Join(root, "no-data"))
	p, err := project.At(root)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func triggers() []trigger {
	tab := func(rows ...string) string { return strings.Join(rows, "\n") + "\n" }
	return []trigger{
		// --- data files
		{[]string{"file not found: check the data directory"}, func(t *testing.T) error {
			_, err := data.ReadTable(filepath.Join(t.TempDir(), "missing.csv"), ',')
			return err
		}},
		{[]string{"no data rows (the file is empty or blank)"}, func(t *testing.T) error {
			_, err := data.ReadTable(write(t, t.TempDir(), "e.csv", "\n\n"), ',')
			return err
		}},
		{[]string{"every row needs the same number of columns (a ragged row"}, func(t *testing.T) error {
			_, err := data.ReadTable(write(t, t.TempDir(), "r.csv", tab("1,2,3", "4,5")), ',')
			return err
		}},
		{[]string{"is not a number: fix or remove the row"}, func(t *testing.T) error {
			_, err := data.ReadTable(write(t, t.TempDir(), "n.csv", tab("1,2", "3,x")), ',')
			return err
		}},
		{[]string{"not a finite number: remove or impute the row"}, func(t *testing.T) error {
			_, err := data.ReadTable(write(t, t.TempDir(), "f.csv", tab("1,2", "3,NaN")), ',')
			return err
		}},
		{[]string{"beyond float32's range"}, func(t *testing.T) error {
			_, err := data.ReadTable(write(t, t.TempDir(), "b.csv", tab("1,2", "3,1e40")), ',')
			return err
		}},
		{[]string{"remove or impute non-finite values"}, func(t *testing.T) error {
			ds, _ := linear(t)
			ds.X[3] = float32(math.Inf(1))
			return ds.Validate()
		}},
		{[]string{"is out of range [0, ", "relabel classes as 0.."}, func(t *testing.T) error {
			ds := &data.Dataset{Name: "c", Task: data.Classification, N: 2, D: 1, X: []float32{0, 1}, Classes: 2, Labels: []int32{0, 2}}
			return ds.Validate()
		}},
		{[]string{"a classification set needs at least 2 classes"}, func(t *testing.T) error {
			_, err := data.ParseClassificationTable(strings.NewReader(tab("1,2,a", "3,4,a")), "c.csv", ',', "c")
			return err
		}},
		{[]string{"posterior.NewNetwork: spec takes D=", "features"}, func(t *testing.T) error {
			ds, _ := linear(t)
			_, err := posterior.NewNetwork(nets.MLP(3, nil, 1, nets.Identity), ds, posterior.NetworkOptions{})
			return err
		}},
		{[]string{"truncated IDX data", "download or copy it again"}, func(t *testing.T) error {
			_, err := data.ParseIDX(bytes.NewReader([]byte{0, 0, 8, 1, 0, 0, 0, 5, 1, 2}), "x.idx")
			return err
		}},
		{[]string{"is this an IDX file?"}, func(t *testing.T) error {
			_, err := data.ParseIDX(strings.NewReader("hello, world"), "x.idx")
			return err
		}},
		{[]string{"fix the path, or unset it to search for shared/data"}, func(t *testing.T) error {
			t.Setenv(data.EnvDataDir, filepath.Join(t.TempDir(), "nowhere"))
			_, err := data.Dir()
			return err
		}},
		{[]string{"does not hold the four files"}, func(t *testing.T) error {
			_, err := data.FashionMNISTDir(data.FashionMNISTOptions{Dir: t.TempDir()})
			return err
		}},
		{[]string{"is not in (0, 1): pass e.g. 0.3"}, func(t *testing.T) error {
			ds, _ := linear(t)
			_, _, err := data.RandomSplit(ds, 1.5, 1)
			return err
		}},

		// --- options
		{[]string{"posterior.NewNetwork: Sigma=", "want a finite value > 0"}, func(t *testing.T) error {
			ds, _ := linear(t)
			_, err := posterior.NewNetwork(nets.MLP(2, nil, 1, nets.Identity), ds, posterior.NetworkOptions{Sigma: -1})
			return err
		}},
		{[]string{"train: BatchSize=", "want >= 1"}, func(t *testing.T) error {
			_, net := linear(t)
			_, err := train.MAP(net, train.Options{BatchSize: -3})
			return err
		}},
		{[]string{"train: LearningRate=", "want > 0"}, func(t *testing.T) error {
			_, net := linear(t)
			_, err := train.MAP(net, train.Options{LearningRate: math.NaN()})
			return err
		}},
		{[]string{"train.MAP: member ", "diverged at step", "lower LearningRate"}, func(t *testing.T) error {
			_, net := linear(t)
			init := []float32{1e20, 1e20, 1e20}
			_, err := train.MAP(net, train.Options{Init: init, Epochs: 2})
			return err
		}},
		{[]string{"fiber: Options.", "must be a finite number ≥ 0 (0 selects the default)"}, func(t *testing.T) error {
			_, net := linear(t)
			_, err := fiber.Walk(context.Background(), backend.MustNew(), net, []float32{0, 0, 0}, fiber.Options{Eta: -1})
			return err
		}},
		{[]string{"fiber: Options.Steps", "is not a multiple of RecordEvery"}, func(t *testing.T) error {
			_, net := linear(t)
			_, err := fiber.Walk(context.Background(), backend.MustNew(), net, []float32{0, 0, 0}, fiber.Options{Steps: 10, RecordEvery: 3})
			return err
		}},
		{[]string{"fiber: Options.FixedEpsilon is set together with EpsilonGrowth", "choose one"}, func(t *testing.T) error {
			_, net := linear(t)
			_, err := fiber.Walk(context.Background(), backend.MustNew(), net, []float32{0, 0, 0}, fiber.Options{FixedEpsilon: true, EpsilonGrowth: 0.1})
			return err
		}},
		{[]string{"flow: Layers=", "want 1..64"}, func(t *testing.T) error {
			_, err := flow.Fit([]float32{0, 0}, []float32{1, 0, 0, 1, 1, 1}, flow.SubspaceOptions{}, flow.Options{Layers: 100}, flow.TrainOptions{})
			return err
		}},
		{[]string{"flow: Lambda=", "but no Target: set TrainOptions.Target"}, func(t *testing.T) error {
			_, err := flow.Fit([]float32{0, 0}, []float32{1, 0, 0, 1, 1, 1}, flow.SubspaceOptions{}, flow.Options{}, flow.TrainOptions{Lambda: 1})
			return err
		}},
		{[]string{"flow: TrainOptions.Groups has", "give one label per sample"}, func(t *testing.T) error {
			_, err := flow.Fit([]float32{0, 0}, []float32{1, 0, 0, 1, 1, 1}, flow.SubspaceOptions{}, flow.Options{}, flow.TrainOptions{Groups: []int{0, 1}})
			return err
		}},
		{[]string{"flow.CorrectToFiber: draw", "remove it before correcting"}, func(t *testing.T) error {
			_, net := linear(t)
			_, _, err := flow.CorrectToFiber(net, []float32{0, 0, 0}, []float32{0, 0, 0, 1, float32(math.NaN()), 1}, flow.CorrectOptions{})
			return err
		}},
		{[]string{"flow: CorrectOptions.Levels[", "is not finite"}, func(t *testing.T) error {
			_, net := linear(t)
			_, _, err := flow.CorrectToFiber(net, []float32{0, 0, 0}, []float32{0, 0, 1}, flow.CorrectOptions{Levels: []float32{float32(math.NaN())}})
			return err
		}},
		{[]string{"gives an improper Laplace posterior: set Options.PriorPrecision > 0"}, func(t *testing.T) error {
			ds, _ := linear(t)
			net, err := posterior.NewNetwork(nets.MLP(2, nil, 1, nets.Identity), ds, posterior.NetworkOptions{Sigma: 0.5, FlatPrior: true})
			if err != nil {
				return nil
			}
			_, err = laplace.Fit(net, []float32{0, 0, 0}, laplace.Options{})
			return err
		}},
		{[]string{"samples parameters, so link_approx must be"}, func(t *testing.T) error {
			_, net := linear(t)
			la, err := laplace.Fit(net, []float32{0, 0, 0}, laplace.Options{HessianStructure: laplace.Full, Tuning: laplace.TuneNone})
			if err != nil {
				return nil
			}
			_, err = la.Predictive([]float32{0, 1}, laplace.PredictOptions{PredType: laplace.NN, LinkApprox: laplace.Probit})
			return err
		}},

		// --- sample, flow and checkpoint files
		{[]string{"truncated file"}, func(t *testing.T) error {
			path, b := savedSet(t, t.TempDir())
			if err := os.WriteFile(path, b[:len(b)/2], 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := samples.Load(path)
			return err
		}},
		{[]string{"checksum mismatch"}, func(t *testing.T) error {
			path, b := savedSet(t, t.TempDir())
			b[len(b)-10] ^= 1
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := samples.Load(path)
			return err
		}},
		{[]string{"written by a newer version", "update fiberbnn"}, func(t *testing.T) error {
			path, b := savedSet(t, t.TempDir())
			off := 22 + len(samples.Kind) // the kind version follows the kind string
			binary.LittleEndian.PutUint32(b[off:], samples.FormatVersion+1)
			binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], crc32.MakeTable(crc32.Castagnoli)))
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := samples.Load(path)
			return err
		}},
		{[]string{"wrong kind of file", "not a sample set file"}, func(t *testing.T) error {
			dir := t.TempDir()
			_, net := linear(t)
			ckpt := filepath.Join(dir, "map.ckpt")
			if _, err := train.MAP(net, train.Options{Epochs: 2, CheckpointPath: ckpt}); err != nil {
				t.Fatal(err)
			}
			_, err := samples.Load(ckpt)
			return err
		}},
		{[]string{"flow.Load:", "wrong kind of file"}, func(t *testing.T) error {
			path, _ := savedSet(t, t.TempDir())
			_, err := flow.Load(path)
			return err
		}},
		{[]string{"not a fiberbnn binary file"}, func(t *testing.T) error {
			_, err := samples.Load(write(t, t.TempDir(), "x.csv", "1,2\n"))
			return err
		}},
		{[]string{"train.MAP: checkpoint", "it was made by another run (NumParams: now"}, func(t *testing.T) error {
			ds, net := linear(t)
			ckpt := filepath.Join(t.TempDir(), "map.ckpt")
			if _, err := train.MAP(net, train.Options{Epochs: 2, CheckpointPath: ckpt}); err != nil {
				t.Fatal(err)
			}
			wider := posterior.MustNewNetwork(nets.MLP(2, []int{3}, 1, nets.Tanh), ds, posterior.NetworkOptions{Sigma: 0.5})
			_, err := train.MAP(wider, train.Options{Epochs: 2, CheckpointPath: ckpt})
			return err
		}},
		{[]string{"fiber: loading checkpoint (delete it to start the walk afresh):", "checksum mismatch"}, func(t *testing.T) error {
			_, net := linear(t)
			ckpt := filepath.Join(t.TempDir(), "walk.ckpt")
			b := backend.MustNew()
			opts := fiber.Options{Particles: 2, Steps: 4, RecordEvery: 2, Seed: 1, CheckpointPath: ckpt}
			if _, err := fiber.Walk(context.Background(), b, net, []float32{0.5, 0.5, 1}, opts); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(ckpt)
			if err != nil {
				t.Fatal(err)
			}
			raw[len(raw)/2] ^= 1
			if err := os.WriteFile(ckpt, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = fiber.LoadCheckpoint(b, net, ckpt, nil)
			return err
		}},
		{[]string{"fiber: checkpoint", "is for a target with P ="}, func(t *testing.T) error {
			ds, net := linear(t)
			ckpt := filepath.Join(t.TempDir(), "walk.ckpt")
			b := backend.MustNew()
			opts := fiber.Options{Particles: 2, Steps: 4, RecordEvery: 2, Seed: 1, CheckpointPath: ckpt}
			if _, err := fiber.Walk(context.Background(), b, net, []float32{0.5, 0.5, 1}, opts); err != nil {
				t.Fatal(err)
			}
			wider := posterior.MustNewNetwork(nets.MLP(2, []int{3}, 1, nets.Tanh), ds, posterior.NetworkOptions{Sigma: 0.5})
			_, err := fiber.LoadCheckpoint(b, wider, ckpt, nil)
			return err
		}},

		// --- notebooks
		{[]string{"cell [", ") failed:"}, func(t *testing.T) error {
			nb := &nbrun.Notebook{Format: 4, Cells: []nbrun.Cell{{Type: "code", Source: "%%\npanic(1)",
				Outputs: []nbrun.Output{{Type: "error", EName: "ERROR", EValue: "panic: 1"}}}}}
			if errs := nbrun.Errors(nb); len(errs) > 0 {
				return errs[0]
			}
			return nil
		}},
		{[]string{"the first code cell must contain %noautoget"}, func(t *testing.T) error {
			nb := &nbrun.Notebook{Format: 4, Cells: []nbrun.Cell{{Type: "code", Source: "%%\nx := 1"}}}
			return joinStrings(nbrun.Lint(nb))
		}},
		{[]string{"expected output", "not found"}, func(t *testing.T) error {
			nb := &nbrun.Notebook{Format: 4}
			return joinStrings(nbrun.CheckExpectations(nb, []string{"text:accuracy"}))
		}},
		{[]string{"unknown expectation", "use text:S, html:S, svg, png or mime:T"}, func(t *testing.T) error {
			return joinStrings(nbrun.CheckExpectations(&nbrun.Notebook{Format: 4}, []string{"picture"}))
		}},
		{[]string{"is not valid JSON"}, func(t *testing.T) error {
			_, err := nbrun.ParseNotebook([]byte(`{"cells": [`), "nb.ipynb")
			return err
		}},
		{[]string{"has nbformat", "want 4"}, func(t *testing.T) error {
			_, err := nbrun.ParseNotebook([]byte(`{"nbformat": 3}`), "nb.ipynb")
			return err
		}},

		// --- kernel and set-up
		{[]string{"no go.mod of github.com/fiberbnn/fiberbnn in", "run fiberkernel inside the checkout, or set FIBERBNN_ROOT"}, func(t *testing.T) error {
			t.Setenv(project.RootEnv, "")
			_, err := project.Find(t.TempDir())
			return err
		}},
		{[]string{"FIBERBNN_ROOT=", "does not hold the go.mod of"}, func(t *testing.T) error {
			t.Setenv(project.RootEnv, t.TempDir())
			_, err := project.Find("")
			return err
		}},
		{[]string{"no Python virtual environment at"}, func(t *testing.T) error {
			_, err := nbrun.Run(fakeCheckout(t), nil, nbrun.Options{})
			return err
		}},
		{[]string{"is not installed in", "fiberkernel install"}, func(t *testing.T) error {
			p := fakeCheckout(t)
			if err := os.MkdirAll(filepath.Dir(p.Python()), 0o755); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Dir(p.Python()), "python", "#!/bin/sh\n")
			_, err := nbrun.Run(p, nil, nbrun.Options{})
			return err
		}},
		{[]string{"kernel spec", "is broken:"}, func(t *testing.T) error {
			p := fakeCheckout(t)
			if err := os.MkdirAll(filepath.Dir(p.Python()), 0o755); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Dir(p.Python()), "python", "#!/bin/sh\n")
			dir := kernelspec.Dir(p, kernelspec.Options{})
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			spec, _ := json.Marshal(kernelspec.Spec{Argv: []string{"/nonexistent/gonb", "--kernel", "{connection_file}"}})
			write(t, dir, "kernel.json", string(spec))
			_, err := nbrun.Run(p, nil, nbrun.Options{})
			return err
		}},
		{[]string{"has sha256", "the download is corrupt or not the pinned file; delete it and retry"}, func(t *testing.T) error {
			wheel := write(t, t.TempDir(), "x.whl", "not the wheel")
			_, err := pjrt.ExtractFromWheel(wheel, t.TempDir(), pjrt.DefaultWheel)
			return err
		}},
	}
}

func joinStrings(msgs []string) error {
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

// docRows returns the fragments (backquoted strings) of the Message column of every table row of
// errors.md, keyed by their join.
func docRows(t *testing.T) (map[string]bool, string) {
	raw, err := os.ReadFile("errors.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	code := regexp.MustCompile("`([^`]+)`")
	inErrors := false
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "## ") {
			inErrors = !strings.Contains(line, "doctor")
		}
		if !inErrors || !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|--") || strings.HasPrefix(line, "| Situation") {
			continue
		}
		cols := strings.Split(line, " | ")
		if len(cols) < 3 {
			t.Fatalf("errors.md row with %d columns: %q", len(cols), line)
		}
		var frags []string
		for _, m := range code.FindAllStringSubmatch(cols[1], -1) {
			frags = append(frags, m[1])
		}
		if len(frags) == 0 {
			t.Errorf("errors.md row without a message fragment: %q", line)
		}
		rows[strings.Join(frags, " … ")] = true
	}
	return rows, string(raw)
}

// TestErrorsDocumented triggers every documented error and checks that it carries the documented
// fragments, and that every row of the table is triggered here, so that docs/errors.md cannot rot.
func TestErrorsDocumented(t *testing.T) {
	t.Setenv("FIBERBNN_HOME", t.TempDir())
	rows, _ := docRows(t)
	tested := map[string]bool{}
	for _, tr := range triggers() {
		key := strings.Join(tr.fragments, " … ")
		tested[key] = true
		t.Run(tr.fragments[0], func(t *testing.T) {
			if !rows[key] {
				t.Errorf("docs/errors.md has no row whose message is %s", quoteAll(tr.fragments))
			}
			err := tr.run(t)
			if err == nil {
				t.Fatalf("no error; want one containing %s", quoteAll(tr.fragments))
			}
			for _, f := range tr.fragments {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q lacks the documented fragment %q", err, f)
				}
			}
		})
	}
	var untested []string
	for k := range rows {
		if !tested[k] {
			untested = append(untested, k)
		}
	}
	slices.Sort(untested)
	for _, k := range untested {
		t.Errorf("docs/errors.md row %q is not triggered by TestErrorsDocumented", k)
	}
}

// TestDoctorFixesDocumented runs the doctor on an empty checkout (no venv, tools, kernel, plugin or data):
// every check that warns or fails must say what it found and how to fix it, and be named in
// docs/errors.md with that fix.
func TestDoctorFixesDocumented(t *testing.T) {
	p := fakeCheckout(t)
	t.Setenv("GOMLX_BACKEND", "")
	_, doc := docRows(t)
	r := doctor.Run(p, doctor.Options{})
	failed := 0
	for _, c := range r.Checks {
		if c.Status < doctor.Warn {
			continue
		}
		if c.Status == doctor.Fail {
			failed++
		}
		if strings.TrimSpace(c.Fix) == "" || strings.TrimSpace(c.Detail) == "" {
			t.Errorf("doctor check %q (%s) does not say what is wrong and how to fix it: detail %q, fix %q", c.Name, c.Status, c.Detail, c.Fix)
		}
		first := strings.SplitN(c.Fix, "\n", 2)[0]
		if c.Fix == pjrt.ErrUnsupportedPlatform.Error() {
			first = "no pinned PJRT CPU plugin wheel for" // then names this machine's platform
		}
		if i := strings.Index(first, " /"); i >= 0 {
			first = first[:i] // the rest names this machine's paths
		}
		if !strings.Contains(doc, "| "+c.Name+" |") || !strings.Contains(doc, first) {
			t.Errorf("doctor check %q (%s: %s) with fix %q is not in docs/errors.md", c.Name, c.Status, c.Detail, first)
		}
	}
	if failed < 3 {
		t.Errorf("only %d checks failed on an empty checkout: %+v", failed, r.Checks)
	}
}

func quoteAll(s []string) string {
	var q []string
	for _, x := range s {
		q = append(q, "`"+x+"`")
	}
	return strings.Join(q, " … ")
}
