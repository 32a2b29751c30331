package diagnostics

import (
	"math"
	"math/cmplx"
)

// fft transforms x in place (length a power of two); inverse selects the unnormalised inverse transform.
func fft(x []complex128, inverse bool) {
	n := len(x)
	// Bit-reversal permutation.
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	sign := -1.0
	if inverse {
		sign = 1
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Exp(complex(0, sign*2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := 0; k < size/2; k++ {
				a, b := x[start+k], x[start+k+size/2]*wk
				x[start+k], x[start+k+size/2] = a+b, a-b
				wk *= w
			}
		}
	}
}

// autocov returns the biased autocovariances acov[t] = (1/n) Σᵢ (xᵢ − x̄)(xᵢ₊ₜ − x̄), t = 0..n−1, computed
// with a zero-padded FFT (O(n log n)).
func autocov(x []float64) []float64 {
	n := len(x)
	var mean float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(n)
	m := 1
	for m < 2*n {
		m <<= 1
	}
	buf := make([]complex128, m)
	for i, v := range x {
		buf[i] = complex(v-mean, 0)
	}
	fft(buf, false)
	for i, v := range buf {
		buf[i] = complex(real(v)*real(v)+imag(v)*imag(v), 0)
	}
	fft(buf, true)
	out := make([]float64, n)
	for t := range out {
		out[t] = real(buf[t]) / float64(m) / float64(n)
	}
	return out
}
