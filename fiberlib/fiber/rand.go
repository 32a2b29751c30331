package fiber

import (
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
)

// The walk's randomness (minibatch rows, Langevin noise) is counter-based: the value at a given step and
// element is a hash of (stream key, step, element index), computed in the graph with 32-bit integer ops
// (our choice). So the walk carries no random-number state beyond its step count (a checkpoint resumes the
// streams exactly), and the minibatch rows are the same on every backend.

// streamKeys are the per-walk keys of the random streams, derived from the seed.
type streamKeys struct {
	Batch, Noise1, Noise2 uint32
}

func newStreamKeys(seed int64) streamKeys {
	r := rand.New(rand.NewPCG(uint64(seed), 0x72616e64)) // "rand"
	return streamKeys{Batch: r.Uint32(), Noise1: r.Uint32(), Noise2: r.Uint32()}
}

// mix32 is a 32-bit integer finaliser (xorshift-multiply, the "lowbias32" constants of C. Wellons): a
// bijection on uint32 whose output bits each depend on every input bit.
func mix32(x *Node) *Node {
	g := x.Graph()
	shift := func(v *Node, n uint32) *Node { return BitwiseShiftRightLogical(v, Const(g, n)) }
	x = BitwiseXor(x, shift(x, 16))
	x = Mul(x, Const(g, uint32(0x7feb352d)))
	x = BitwiseXor(x, shift(x, 15))
	x = Mul(x, Const(g, uint32(0x846ca68b)))
	return BitwiseXor(x, shift(x, 16))
}

// hashBits returns uint32 hashes of shape dims for stream key at step (int32 scalar node).
func hashBits(key uint32, step *Node, dims ...int) *Node {
	g := step.Graph()
	idx := IotaFull(g, shapes.Make(dtypes.Uint32, dims...))
	s := mix32(BitwiseXor(ConvertDType(step, dtypes.Uint32), Const(g, key*0x9e3779b9+0x7f4a7c15)))
	return mix32(BitwiseXor(mix32(BitwiseXor(idx, Const(g, key))), s))
}

// uniformAt returns float32 uniforms in (0, 1) of shape dims: 24 random bits, centred in their bins.
func uniformAt(key uint32, step *Node, dims ...int) *Node {
	g := step.Graph()
	h := BitwiseShiftRightLogical(hashBits(key, step, dims...), Const(g, uint32(8)))
	return MulScalar(AddScalar(ConvertDType(h, dtypes.Float32), 0.5), math.Ldexp(1, -24))
}

// normalAt returns standard normal float32 values of shape dims (Box–Muller on two uniform streams).
func normalAt(k1, k2 uint32, step *Node, dims ...int) *Node {
	u1, u2 := uniformAt(k1, step, dims...), uniformAt(k2, step, dims...)
	return Mul(Sqrt(MulScalar(Log(u1), -2)), Cos(MulScalar(u2, 2*math.Pi)))
}

// rowsAt returns b row indices in [0, n), drawn uniformly with replacement, as int32 [b, 1].
func rowsAt(key uint32, step *Node, n, b int) *Node {
	u := uniformAt(key, step, b, 1)
	idx := ConvertDType(Floor(MulScalar(u, float64(n))), dtypes.Int32)
	return MinScalar(idx, float64(n-1))
}
