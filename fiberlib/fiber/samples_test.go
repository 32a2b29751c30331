package fiber_test

import (
	"context"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
	"github.com/fiberbnn/fiberbnn/fiberlib/samples"
)

// ToSamples carries the kept snapshots and final positions of the finished particles, with their losses,
// rises, distances, particle and step, and survives a save and load bit for bit.
func TestToSamples(t *testing.T) {
	b := testBackend(t)
	lr := newLinreg(40, 3, 1, 1, 5)
	opts := fiber.Options{Particles: 6, Steps: 120, RecordEvery: 20, KeepEvery: 40, Seed: 4, Tau: 0.05}
	r, err := fiber.Walk(context.Background(), b, lr, to32(lr.mapTheta()), opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.ToSamples()
	if err != nil {
		t.Fatal(err)
	}
	// KeepAfter defaults to 60: snapshots at 80 (and 120 is the final step).
	if len(r.Snapshots) != 1 || r.Snapshots[0].Step != 80 {
		t.Fatalf("snapshots at %v, want one at step 80", r.Snapshots)
	}
	if s.N != 12 || s.P != 3 || !reflect.DeepEqual(s.Theta, r.Samples()) || s.Method != "fiber" || s.Seed != 4 {
		t.Fatalf("set N=%d P=%d method %q seed %d", s.N, s.P, s.Method, s.Seed)
	}
	dist := r.Distances()
	for k := range r.Finished {
		i := 6 + k
		if s.Loss[i] != r.FinalLoss[k] || s.Diagnostics["step"][i] != 120 || int(s.Diagnostics["particle"][i]) != r.Finished[k] {
			t.Errorf("final sample %d: loss %g (want %g), step %g, particle %g", k, s.Loss[i], r.FinalLoss[k],
				s.Diagnostics["step"][i], s.Diagnostics["particle"][i])
		}
		if math.Abs(float64(s.Diagnostics["distance"][i])-dist[k]) > 1e-5*dist[k] {
			t.Errorf("distance %g, want %g", s.Diagnostics["distance"][i], dist[k])
		}
		if got, want := s.Diagnostics["rise"][i], s.Loss[i]-float32(r.LossMAP); got != want {
			t.Errorf("rise %g, want %g", got, want)
		}
	}
	k80 := 3 // trace records at 20, 40, 60, 80, ...
	if r.Trace.Steps[k80] != 80 || s.Loss[0] != r.Trace.Loss[k80][r.Finished[0]] || s.Diagnostics["step"][0] != 80 {
		t.Errorf("snapshot sample loss %g, want the trace's %g at step 80", s.Loss[0], r.Trace.Loss[k80][r.Finished[0]])
	}
	path := filepath.Join(t.TempDir(), "walk.fbs")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := samples.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Theta, s.Theta) || !reflect.DeepEqual(back.Loss, s.Loss) || !reflect.DeepEqual(back.MAP, s.MAP) {
		t.Errorf("save/load changed the set")
	}
}
