package laplace

import (
	"sync"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
)

// execKey identifies a compiled computation by everything its graph depends on (the data, the MAP and α
// are inputs), so that refitting the same model (another MAP, more data of the same shape, another α, a
// notebook cell run again) reuses the executable instead of compiling it again.
type execKey struct {
	kind      string
	spec      string
	lik       string
	sigma     float64
	structure HessianStructure
	subset    SubsetOfWeights
	chunk     int
	backend   compute.Backend
}

// maxCachedExecs bounds the cache (oldest evicted first).
const maxCachedExecs = 32

var execCache = struct {
	sync.Mutex
	m     map[execKey]*Exec
	order []execKey
}{m: map[execKey]*Exec{}}

// cachedExec returns the executable for key, building it with build on a miss.
func cachedExec(key execKey, build func() (*Exec, error)) (*Exec, error) {
	execCache.Lock()
	defer execCache.Unlock()
	if ex, ok := execCache.m[key]; ok {
		return ex, nil
	}
	ex, err := build()
	if err != nil {
		return nil, err
	}
	if len(execCache.order) >= maxCachedExecs {
		old := execCache.order[0]
		execCache.order = execCache.order[1:]
		delete(execCache.m, old)
	}
	execCache.m[key] = ex
	execCache.order = append(execCache.order, key)
	return ex, nil
}

// key returns the cache key of a computation of kind for this approximation.
func (la *Laplace) key(kind string, chunk int) execKey {
	return execKey{kind: kind, spec: la.net.Spec.String(), lik: string(la.net.Likelihood), sigma: la.net.Sigma,
		structure: la.opts.HessianStructure, subset: la.opts.SubsetOfWeights, chunk: chunk, backend: la.backend}
}
