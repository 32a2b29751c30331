package fiber

import (
	"fmt"
	"sync"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// Compiled walk computations are shared by the walkers of one process that use the same backend, target
// and graph-shaping settings (a resumed walk, several seeds without noise or minibatches, tests): XLA
// compilation costs seconds, a walk call milliseconds. Shapes (N, P, data) are part of each Exec's own cache.
type execKey struct {
	backend compute.Backend
	target  posterior.Target
	graph   string // the settings the graph depends on, printed
}

type execPair struct {
	walk, diag *Exec
}

var (
	execMu    sync.Mutex
	execCache = map[execKey]execPair{}
)

// graphKey prints the settings the step and diagnostics graphs are built from.
func graphKey(s *Settings, keys streamKeys) string {
	return fmt.Sprintf("%s|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%+v", s.Control, s.Tau, s.DivergeRise, s.RejectFactor,
		s.EpsilonGrowth, s.NoiseTemperature, s.Project, s.BatchSize, s.NumData, s.RecordEvery, s.NumParams, keys)
}

// walkExecs returns the compiled chunk and diagnostics computations for w, building them on first use.
func (w *Walker) walkExecs() (execPair, error) {
	keys := newStreamKeys(w.set.Seed)
	if w.set.BatchSize == 0 && w.set.NoiseTemperature == 0 {
		keys = streamKeys{} // no randomness in the graph: the seed does not matter
	}
	k := execKey{backend: w.backend, target: w.target, graph: graphKey(&w.set, keys)}
	execMu.Lock()
	defer execMu.Unlock()
	if p, ok := execCache[k]; ok {
		return p, nil
	}
	st := &stepper{s: w.set, target: w.target, keys: keys}
	walk, err := NewExec(w.backend, st.chunk(w.set.RecordEvery, gloop.UseWhile(w.backend)))
	if err != nil {
		return execPair{}, err
	}
	diag, err := NewExec(w.backend, st.diagnostics(w.set.RecordEvery))
	if err != nil {
		return execPair{}, err
	}
	p := execPair{walk: walk.WithName("fiber_walk"), diag: diag.WithName("fiber_diagnostics")}
	execCache[k] = p
	return p, nil
}
