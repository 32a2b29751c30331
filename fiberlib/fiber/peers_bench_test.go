package fiber

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// The side-by-side walk benchmark of bench/peers (scripts/bench-peers.sh): the same problem as
// bench/peers/walk_jax.py, so that the two engines do the same arithmetic per step.
//
// A case is "hidden:n:N:spc[,spc...]", e.g. "200x200:1024:64:10" (a tanh MLP 8 → 200 → 200 → 1 on
// n = 1024 random regression examples, N = 64 particles, 10 steps per executed call). Cases are separated by
// ";" in FIBERBNN_PEERS_CASES; the default is peerDefaultCases. The walk uses ControlBudget with ε growth,
// full batch, no projection or noise: η = 1e-3, ε₀ = 1e-3, τ = P/(2n), σ = 0.5, α = 1.
//
// Three ways of running the same chunk are timed, as sub-benchmarks:
//
//   - engine: the compiled chunk (gloop.Repeat of `spc` steps) called with the state kept on the device,
//     each call's outputs fed to the next; one host read at the end of the timing (as JAX's
//     block_until_ready).
//
//   - donate: the same, with the state buffers donated to each call (DonateTensorBuffer), so that XLA can
//     write the new state in place.
//
//   - walker: Walker.Advance(spc), the library's path: the chunk plus the diagnostics computation and the
//     host copies of the records after every call.
//
//     FIBERBNN_PEERS_CASES='50:512:64:1,10,100' go test -run '^$' -bench 'PeerWalk$' -benchtime 3x ./fiberlib/fiber/
const peerDefaultCases = "50:512:64:1,10,100;200x200:1024:64:10"

const peerInputs = 8 // D of the benchmark data

// peerCase is one benchmark problem.
type peerCase struct {
	Hidden    []int
	NumData   int
	Particles int
	SPC       []int
}

// name is the case's label in benchmark names and result tables: "mlp200x200/n1024/N64".
func (c peerCase) name() string {
	h := make([]string, len(c.Hidden))
	for i, v := range c.Hidden {
		h[i] = strconv.Itoa(v)
	}
	return fmt.Sprintf("mlp%s/n%d/N%d", strings.Join(h, "x"), c.NumData, c.Particles)
}

// parsePeerCases reads the FIBERBNN_PEERS_CASES syntax.
func parsePeerCases(s string) ([]peerCase, error) {
	var out []peerCase
	for _, item := range strings.Split(s, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		f := strings.Split(item, ":")
		if len(f) != 4 {
			return nil, fmt.Errorf("case %q: want hidden:n:N:spc[,spc...], e.g. 200x200:1024:64:10", item)
		}
		var c peerCase
		for _, h := range strings.Split(f[0], "x") {
			v, err := strconv.Atoi(h)
			if err != nil || v < 1 {
				return nil, fmt.Errorf("case %q: hidden width %q is not a positive integer", item, h)
			}
			c.Hidden = append(c.Hidden, v)
		}
		var err1, err2 error
		c.NumData, err1 = strconv.Atoi(f[1])
		c.Particles, err2 = strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || c.NumData < 1 || c.Particles < 1 {
			return nil, fmt.Errorf("case %q: n and N must be positive integers", item)
		}
		for _, v := range strings.Split(f[3], ",") {
			k, err := strconv.Atoi(v)
			if err != nil || k < 1 {
				return nil, fmt.Errorf("case %q: steps per call %q is not a positive integer", item, v)
			}
			c.SPC = append(c.SPC, k)
		}
		out = append(out, c)
	}
	return out, nil
}

func peerCases(b *testing.B) []peerCase {
	s := os.Getenv("FIBERBNN_PEERS_CASES")
	if s == "" {
		s = peerDefaultCases
	}
	cs, err := parsePeerCases(s)
	if err != nil {
		b.Fatalf("FIBERBNN_PEERS_CASES: %v", err)
	}
	return cs
}

// peerProblem builds the case's network posterior (seeded random data) and the initial θ.
func peerProblem(b *testing.B, c peerCase) (*posterior.Network, []float32) {
	rng := rand.New(rand.NewPCG(11, 12))
	ds := &data.Dataset{Name: "peers", Task: data.Regression, N: c.NumData, D: peerInputs, T: 1,
		X: make([]float32, c.NumData*peerInputs), Y: make([]float32, c.NumData)}
	for i := range ds.X {
		ds.X[i] = float32(rng.NormFloat64())
	}
	for i := range ds.Y {
		ds.Y[i] = float32(rng.NormFloat64())
	}
	spec := nets.MLP(peerInputs, c.Hidden, 1, nets.Tanh)
	net, err := posterior.NewNetwork(spec, ds, posterior.NetworkOptions{Sigma: 0.5, PriorPrecision: 1})
	if err != nil {
		b.Fatal(err)
	}
	return net, spec.MustInit(1)
}

// peerOptions are the walk settings of the side-by-side benchmark (mirrored in walk_jax.py).
func peerOptions(c peerCase, p, spc int) Options {
	tau := float64(p) / (2 * float64(c.NumData))
	return Options{Particles: c.Particles, Steps: spc * 1000, RecordEvery: spc, Eta: 1e-3, Epsilon: 1e-3,
		Tau: tau, Seed: 1}
}

// peerFlops counts the flops of one walk step for one particle: forward and backward through every dense
// layer on every example (3 matrix products of 2·n·in·out flops each).
func peerFlops(c peerCase) float64 {
	sizes := append(append([]int{peerInputs}, c.Hidden...), 1)
	var macs float64
	for l := 0; l+1 < len(sizes); l++ {
		macs += float64(sizes[l] * sizes[l+1])
	}
	return 6 * float64(c.NumData) * macs
}

// chunkArgs returns the constant inputs of a chunk call (created once, kept on the device after the first
// call).
func (w *Walker) chunkConsts() []*tensors.Tensor {
	out := []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(append([]float32(nil), w.mapTheta...), w.set.NumParams),
		tensors.FromFlatDataAndDimensions(append([]float32(nil), w.drift...), w.set.Particles, w.set.NumParams),
		tensors.FromFlatDataAndDimensions(w.set.walkMask(), w.set.NumParams),
		tensors.FromValue(float32(w.lossStar)),
	}
	return append(out, w.target.Data()...)
}

// BenchmarkPeerWalk times the fiber walk as described above; metrics: particle-steps/s, GFLOP/s (the
// dense layers' matrix products only) and s/call.
func BenchmarkPeerWalk(b *testing.B) {
	bk, err := backend.New()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range peerCases(b) {
		net, theta0 := peerProblem(b, c)
		for _, spc := range c.SPC {
			for _, mode := range []string{"engine", "donate", "walker"} {
				b.Run(fmt.Sprintf("%s/spc%d/%s", c.name(), spc, mode), func(b *testing.B) {
					w, err := NewWalker(bk, net, theta0, peerOptions(c, net.NumParams(), spc))
					if err != nil {
						b.Fatal(err)
					}
					var run func(calls int)
					switch mode {
					case "walker":
						run = func(calls int) {
							if err := w.Advance(calls * spc); err != nil {
								b.Fatal(err)
							}
						}
					default:
						run = peerEngine(b, bk, w, spc, mode == "donate")
					}
					run(1) // compile and warm up
					b.ResetTimer()
					t0 := time.Now()
					run(b.N)
					el := time.Since(t0).Seconds()
					ps := float64(b.N*spc*c.Particles) / el
					b.ReportMetric(ps, "particle-steps/s")
					b.ReportMetric(ps*peerFlops(c)/1e9, "GFLOP/s")
					b.ReportMetric(el/float64(b.N), "s/call")
					b.ReportMetric(float64(net.NumParams()), "params")
					b.ReportMetric(0, "ns/op")
				})
			}
		}
	}
}

// peerEngine returns a function that runs `calls` chunk calls of spc steps on the device state of w and
// waits for the last one.
func peerEngine(b *testing.B, bk compute.Backend, w *Walker, spc int, donate bool) func(calls int) {
	st := &stepper{s: w.set, target: w.target}
	exec, err := NewExec(bk, st.chunk(spc, gloop.UseWhile(bk)))
	if err != nil {
		b.Fatal(err)
	}
	consts := w.chunkConsts()
	state := w.state
	args := make([]any, numState+len(consts))
	return func(calls int) {
		for i := 0; i < calls; i++ {
			for j, t := range state {
				args[j] = t
				if donate {
					d, err := DonateTensorBuffer(t, bk, 0)
					if err != nil {
						b.Fatal(err)
					}
					args[j] = d
				}
			}
			for j, t := range consts {
				args[numState+j] = t
			}
			out, err := exec.Call(args...)
			if err != nil {
				b.Fatal(err)
			}
			state = out[:numState]
		}
		if _, err := tensors.CopyFlatData[int32](state[stStep]); err != nil { // wait for the last call
			b.Fatal(err)
		}
	}
}

// BenchmarkPeerWalkDump writes the first case's problem and its state after 20 steps (one call of 20 steps)
// to the folder FIBERBNN_PEERS_DUMP, for walk_jax.py --check to reproduce with the same arithmetic. It is
// skipped when FIBERBNN_PEERS_DUMP is not set.
//
// Files: meta.json (shapes and settings), x, y, theta0 [P], drift [N, P], then after the steps theta [N, P],
// eps [N], eta [N], halvings [N] (int32): raw little-endian float32 unless noted.
func BenchmarkPeerWalkDump(b *testing.B) {
	dir := os.Getenv("FIBERBNN_PEERS_DUMP")
	if dir == "" {
		b.Skip("FIBERBNN_PEERS_DUMP is not set")
	}
	const steps = 20
	bk, err := backend.New()
	if err != nil {
		b.Fatal(err)
	}
	c := peerCases(b)[0]
	net, theta0 := peerProblem(b, c)
	w, err := NewWalker(bk, net, theta0, peerOptions(c, net.NumParams(), steps))
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Advance(steps); err != nil {
		b.Fatal(err)
	}
	h, err := readState(w.state)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	s := w.set
	meta := map[string]any{"hidden": c.Hidden, "n": c.NumData, "d": peerInputs, "particles": s.Particles,
		"params": s.NumParams, "sigma": net.Sigma, "alpha": net.PriorPrecision, "eta": s.Eta,
		"epsilon": s.Epsilon, "tau": s.Tau, "diverge_rise": s.DivergeRise, "reject_factor": s.RejectFactor,
		"epsilon_growth": s.EpsilonGrowth, "loss_star": w.lossStar, "steps": steps,
		"backend": bk.Name()}
	mj, _ := json.MarshalIndent(meta, "", "  ")
	ds := net.Dataset()
	files := map[string]any{"meta.json": mj, "x": ds.X, "y": ds.Y, "theta0": theta0, "drift": w.drift,
		"theta": h.Theta, "eps": h.Eps, "eta": h.Eta, "halvings": h.Halvings}
	for name, v := range files {
		var raw []byte
		switch v := v.(type) {
		case []byte:
			raw = v
		case []float32:
			raw = make([]byte, 4*len(v))
			for i, f := range v {
				binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
			}
		case []int32:
			raw = make([]byte, 4*len(v))
			for i, f := range v {
				binary.LittleEndian.PutUint32(raw[4*i:], uint32(f))
			}
		}
		tmp := filepath.Join(dir, "."+name+".tmp")
		if err := os.WriteFile(tmp, raw, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(0, "ns/op")
}
