package train

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/internal/binfile"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// A checkpoint whose container is intact but whose content is not what this run saved (an array missing
// or of the wrong shape or type, non-finite parameters, more epochs than the run has) is refused with a
// message naming the problem and the fix, never a panic.
func TestDamagedCheckpointContent(t *testing.T) {
	ds := &data.Dataset{Name: "lin", Task: data.Regression, N: 6, D: 1, T: 1,
		X: []float32{0, 1, 2, 3, 4, 5}, Y: []float32{1, 0, 2, 3, 1, 2}}
	net := posterior.MustNewNetwork(nets.MLP(1, nil, 1, nets.Identity), ds, posterior.NetworkOptions{Sigma: 0.5})
	path := filepath.Join(t.TempDir(), "map.ckpt")
	o := Options{Epochs: 4, Members: 2, BatchSize: 2, ValidationFraction: 0.34, CheckpointPath: path}
	if _, err := MAP(net, o); err != nil {
		t.Fatal(err)
	}
	good, err := binfile.Read(path, CheckpointKind, CheckpointVersion)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(net, o)
	if err != nil {
		t.Fatal(err)
	}
	o, _ = o.withDefaults()
	load := func(edit func(f *binfile.File)) error {
		f := &binfile.File{Kind: good.Kind, Version: good.Version, Header: good.Header}
		for _, a := range good.Arrays {
			f.Arrays = append(f.Arrays, binfile.Array{Name: a.Name, Shape: append([]int(nil), a.Shape...), Data: a.Data})
		}
		edit(f)
		if err := binfile.Write(path, f); err != nil {
			t.Fatal(err)
		}
		_, err := tr.loadCheckpoint(o)
		return err
	}
	if err := load(func(*binfile.File) {}); err != nil {
		t.Fatalf("unchanged checkpoint refused: %v", err)
	}
	for _, a := range good.Arrays {
		name := a.Name
		err := load(func(f *binfile.File) {
			for i := range f.Arrays {
				if f.Arrays[i].Name == name {
					f.Arrays = append(f.Arrays[:i], f.Arrays[i+1:]...)
					break
				}
			}
		})
		if err == nil || !strings.Contains(err.Error(), `"`+name+`"`) || !strings.Contains(err.Error(), "delete it or use another CheckpointPath") {
			t.Errorf("without array %q: err = %v", name, err)
		}
		err = load(func(f *binfile.File) {
			for i := range f.Arrays {
				if f.Arrays[i].Name == name {
					f.Arrays[i] = binfile.Array{Name: name, Shape: []int{1}, Data: []int32{7}}
				}
			}
		})
		if err == nil || !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("array %q of another type and shape: err = %v", name, err)
		}
	}
	err = load(func(f *binfile.File) {
		a, _ := f.Lookup("theta")
		theta := append([]float32(nil), a.Data.([]float32)...)
		theta[3] = float32(math.NaN())
		a.Data = theta
	})
	if err == nil || !strings.Contains(err.Error(), "parameter 1 of member 1 is NaN") {
		t.Errorf("NaN parameter: err = %v", err)
	}
	err = load(func(f *binfile.File) {
		f.Header = []byte(strings.Replace(string(f.Header), `"epochs":4`, `"epochs":9`, 1))
	})
	if err == nil || !strings.Contains(err.Error(), "records 9 epochs") {
		t.Errorf("too many epochs: err = %v", err)
	}
	err = load(func(f *binfile.File) { f.Header = []byte(`{"fingerprint":7}`) })
	if err == nil || !strings.Contains(err.Error(), "train.MAP: resuming") {
		t.Errorf("malformed header: err = %v", err)
	}
}
