package samples

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Meta says how a Set was made. It is stored as the JSON header of the file.
type Meta struct {
	// Method names the method that drew the samples: "fiber", "flow", "laplace", "ensemble", "swag",
	// "hmc", ...
	Method string `json:"method"`
	// Seed is the seed the method was run with.
	Seed int64 `json:"seed"`
	// Network describes the network the parameters belong to, as any JSON value (e.g. the marshalled
	// network spec). It is stored and returned verbatim; see SetNetwork and DecodeNetwork.
	Network json.RawMessage `json:"network,omitempty"`
	// Dataset names the training data (e.g. "boston/split-3").
	Dataset string `json:"dataset,omitempty"`
	// FitSeconds is the wall time spent fitting before sampling (MAP training, Hessian, flow training...).
	FitSeconds float64 `json:"fit_seconds"`
	// SampleSeconds is the wall time per sample, after fitting.
	SampleSeconds float64 `json:"sample_seconds"`
	// Extras holds free-form JSON-encodable values (hyperparameters, counts of dropped samples...). After
	// Load, values are what encoding/json decodes into an any: numbers are float64, objects
	// map[string]any.
	Extras map[string]any `json:"extras,omitempty"`
}

// Set is N samples of P parameters with their metadata. See the package doc for what makes it valid.
type Set struct {
	Meta
	// N is the number of samples, P the number of parameters of each.
	N, P int
	// Theta holds the samples, [N, P] row-major.
	Theta []float32
	// Loss is the training loss of each sample, [N], or nil if unknown.
	Loss []float32
	// MAP is the maximum a posteriori parameter vector, [P], or nil.
	MAP []float32
	// Diagnostics holds named per-sample values, each [N] (e.g. "distance", "accept_rate").
	Diagnostics map[string][]float32
}

// New returns a set of n samples of p parameters, theta [n, p] row-major (not copied), with the given
// metadata, after validating it.
func New(n, p int, theta []float32, meta Meta) (*Set, error) {
	s := &Set{Meta: meta, N: n, P: p, Theta: theta}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// MustNew is New for notebooks: it panics on error.
func MustNew(n, p int, theta []float32, meta Meta) *Set {
	s, err := New(n, p, theta, meta)
	if err != nil {
		panic(err)
	}
	return s
}

// SetNetwork stores v, encoded as JSON, as the network description.
func (s *Set) SetNetwork(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("samples: encoding the network description %T: %w", v, err)
	}
	s.Network = b
	return nil
}

// DecodeNetwork decodes the network description into v.
func (s *Set) DecodeNetwork(v any) error {
	if len(s.Network) == 0 {
		return fmt.Errorf("samples: the %s set has no network description", s.Method)
	}
	if err := json.Unmarshal(s.Network, v); err != nil {
		return fmt.Errorf("samples: decoding the network description into %T: %w", v, err)
	}
	return nil
}

// name is how error messages refer to the set.
func (s *Set) name() string {
	if s.Method == "" {
		return "sample set"
	}
	return s.Method + " sample set"
}

// Validate checks shapes and values (see the package doc) and returns an error naming the first problem.
func (s *Set) Validate() error {
	name := s.name()
	if s.N < 1 {
		return fmt.Errorf("%s: no samples (N=%d)", name, s.N)
	}
	if s.P < 1 {
		return fmt.Errorf("%s: no parameters (P=%d)", name, s.P)
	}
	if s.N > math.MaxInt/s.P {
		return fmt.Errorf("%s: N×P = %d×%d overflows: not a real set", name, s.N, s.P)
	}
	if len(s.Theta) != s.N*s.P {
		return fmt.Errorf("%s: Theta has %d values, want N×P = %d×%d = %d", name, len(s.Theta), s.N, s.P, s.N*s.P)
	}
	if s.Loss != nil && len(s.Loss) != s.N {
		return fmt.Errorf("%s: Loss has %d values, want one per sample (N=%d)", name, len(s.Loss), s.N)
	}
	if s.MAP != nil && len(s.MAP) != s.P {
		return fmt.Errorf("%s: MAP has %d values, want P=%d", name, len(s.MAP), s.P)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Diagnostics)) {
		if k == "" || strings.ContainsRune(k, '/') {
			return fmt.Errorf("%s: diagnostic name %q must be non-empty and without '/'", name, k)
		}
		if v := s.Diagnostics[k]; len(v) != s.N {
			return fmt.Errorf("%s: diagnostic %q has %d values, want one per sample (N=%d)", name, k, len(v), s.N)
		}
	}
	if bad := s.NonFinite(); len(bad) > 0 {
		shown := bad
		if len(shown) > 10 {
			shown = shown[:10]
		}
		return fmt.Errorf("%s: %d of %d samples have NaN or infinite parameters (rows %v%s): the sampler diverged there; "+
			"lower the step size, or drop them with DropNonFinite and report how many", name, len(bad), s.N, shown, more(len(bad), len(shown)))
	}
	for i, v := range s.Loss {
		if !finite(v) {
			return fmt.Errorf("%s: loss of sample %d is %v", name, i, v)
		}
	}
	for i, v := range s.MAP {
		if !finite(v) {
			return fmt.Errorf("%s: MAP parameter %d is %v", name, i, v)
		}
	}
	for _, v := range []struct {
		what string
		x    float64
	}{{"FitSeconds", s.FitSeconds}, {"SampleSeconds", s.SampleSeconds}} {
		if math.IsNaN(v.x) || math.IsInf(v.x, 0) || v.x < 0 {
			return fmt.Errorf("%s: %s is %v, want a finite value >= 0", name, v.what, v.x)
		}
	}
	return nil
}

func more(total, shown int) string {
	if total > shown {
		return fmt.Sprintf(" and %d more", total-shown)
	}
	return ""
}

// finite reports whether v is neither NaN nor ±Inf: its exponent bits are not all ones.
func finite(v float32) bool { return math.Float32bits(v)&0x7f800000 != 0x7f800000 }

// NonFinite returns the indices of the samples whose parameter row holds a NaN or an infinity.
func (s *Set) NonFinite() []int {
	var bad []int
	for i := 0; i < s.N && (i+1)*s.P <= len(s.Theta); i++ {
		for _, v := range s.Theta[i*s.P : (i+1)*s.P] {
			if !finite(v) {
				bad = append(bad, i)
				break
			}
		}
	}
	return bad
}

// DropNonFinite returns a copy of s without the samples whose parameters or loss are not finite, and the
// indices of the dropped samples. It returns an error if no sample is left.
func (s *Set) DropNonFinite() (*Set, []int, error) {
	drop := map[int]bool{}
	for _, i := range s.NonFinite() {
		drop[i] = true
	}
	for i, v := range s.Loss {
		if !finite(v) {
			drop[i] = true
		}
	}
	keep := make([]int, 0, s.N)
	for i := 0; i < s.N; i++ {
		if !drop[i] {
			keep = append(keep, i)
		}
	}
	dropped := slices.Sorted(maps.Keys(drop))
	if len(keep) == 0 {
		return nil, dropped, fmt.Errorf("%s: all %d samples are non-finite", s.name(), s.N)
	}
	out, err := s.Subset(keep)
	return out, dropped, err
}

// Row returns sample i, [P], sharing memory with Theta. It panics if i is out of [0, N).
func (s *Set) Row(i int) []float32 {
	if i < 0 || i >= s.N {
		panic(fmt.Sprintf("samples: Row(%d) out of range [0, %d)", i, s.N))
	}
	return s.Theta[i*s.P : (i+1)*s.P : (i+1)*s.P]
}

// Mean returns the sample mean, [P], accumulated in float64.
func (s *Set) Mean() []float32 {
	acc := make([]float64, s.P)
	for i := 0; i < s.N; i++ {
		for j, v := range s.Row(i) {
			acc[j] += float64(v)
		}
	}
	out := make([]float32, s.P)
	for j := range out {
		out[j] = float32(acc[j] / float64(s.N))
	}
	return out
}

// Std returns the per-parameter sample standard deviation, [P], with the N-1 denominator (0 when N = 1),
// computed in float64 with the two-pass formula.
func (s *Set) Std() []float32 {
	mean := make([]float64, s.P)
	for i := 0; i < s.N; i++ {
		for j, v := range s.Row(i) {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(s.N)
	}
	ss := make([]float64, s.P)
	for i := 0; i < s.N; i++ {
		for j, v := range s.Row(i) {
			d := float64(v) - mean[j]
			ss[j] += d * d
		}
	}
	out := make([]float32, s.P)
	if s.N > 1 {
		for j := range out {
			out[j] = float32(math.Sqrt(ss[j] / float64(s.N-1)))
		}
	}
	return out
}

// Clone returns a deep copy of s (Extras is copied one level deep).
func (s *Set) Clone() *Set {
	idx := make([]int, s.N)
	for i := range idx {
		idx[i] = i
	}
	out, _ := s.Subset(idx)
	return out
}

// Subset returns a new set with the samples idx (in that order, repeats allowed), their losses and
// diagnostics, and a copy of the metadata and MAP vector.
func (s *Set) Subset(idx []int) (*Set, error) {
	if len(idx) == 0 {
		return nil, fmt.Errorf("%s: Subset of no samples", s.name())
	}
	for _, i := range idx {
		if i < 0 || i >= s.N {
			return nil, fmt.Errorf("%s: Subset index %d out of range [0, %d)", s.name(), i, s.N)
		}
	}
	out := &Set{Meta: s.Meta.clone(), N: len(idx), P: s.P, Theta: make([]float32, 0, len(idx)*s.P)}
	for _, i := range idx {
		out.Theta = append(out.Theta, s.Row(i)...)
	}
	out.Loss = pick(s.Loss, idx)
	out.MAP = slices.Clone(s.MAP)
	if s.Diagnostics != nil {
		out.Diagnostics = make(map[string][]float32, len(s.Diagnostics))
		for k, v := range s.Diagnostics {
			out.Diagnostics[k] = pick(v, idx)
		}
	}
	return out, nil
}

func pick(v []float32, idx []int) []float32 {
	if v == nil {
		return nil
	}
	out := make([]float32, len(idx))
	for k, i := range idx {
		out[k] = v[i]
	}
	return out
}

func (m Meta) clone() Meta {
	m.Network = slices.Clone(m.Network)
	if m.Extras != nil {
		m.Extras = maps.Clone(m.Extras)
	}
	return m
}

// Concat joins sets drawn by the same method for the same network (e.g. the runs of several seeds) into
// one. All must have the same P and Method. The result takes its metadata and MAP vector from the first
// set, except FitSeconds (the sum over the sets) and SampleSeconds (the mean over all samples). Loss is
// kept if every set has it; a diagnostic is kept if every set has it.
func Concat(sets ...*Set) (*Set, error) {
	if len(sets) == 0 {
		return nil, fmt.Errorf("samples: Concat of no sets")
	}
	first := sets[0]
	out := &Set{Meta: first.Meta.clone(), P: first.P, MAP: slices.Clone(first.MAP)}
	out.FitSeconds = 0
	var sampleTime float64
	keepLoss := true
	diag := map[string]bool{}
	for k := range first.Diagnostics {
		diag[k] = true
	}
	for i, s := range sets {
		if s == nil {
			return nil, fmt.Errorf("samples: Concat: set %d is nil", i)
		}
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("samples: Concat: set %d: %w", i, err)
		}
		if s.P != first.P {
			return nil, fmt.Errorf("samples: Concat: set %d has P=%d parameters, set 0 has %d", i, s.P, first.P)
		}
		if s.Method != first.Method {
			return nil, fmt.Errorf("samples: Concat: set %d was drawn by %q, set 0 by %q: keep methods apart", i, s.Method, first.Method)
		}
		out.N += s.N
		out.FitSeconds += s.FitSeconds
		sampleTime += s.SampleSeconds * float64(s.N)
		keepLoss = keepLoss && s.Loss != nil
		for k := range diag {
			if _, ok := s.Diagnostics[k]; !ok {
				delete(diag, k)
			}
		}
	}
	out.SampleSeconds = sampleTime / float64(out.N)
	out.Theta = make([]float32, 0, out.N*out.P)
	if keepLoss {
		out.Loss = make([]float32, 0, out.N)
	}
	if len(diag) > 0 {
		out.Diagnostics = map[string][]float32{}
	}
	for _, s := range sets {
		out.Theta = append(out.Theta, s.Theta...)
		if keepLoss {
			out.Loss = append(out.Loss, s.Loss...)
		}
		for k := range diag {
			out.Diagnostics[k] = append(out.Diagnostics[k], s.Diagnostics[k]...)
		}
	}
	return out, nil
}
