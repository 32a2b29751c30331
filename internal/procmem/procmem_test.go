package procmem

import (
	"runtime"
	"slices"
	"testing"
)

// The environment lists parse, and bad ones are refused naming the variable.
func TestEnvInts(t *testing.T) {
	t.Setenv("FIBERBNN_TEST_INTS", "")
	if got, err := EnvInts("FIBERBNN_TEST_INTS", []int{7}); err != nil || !slices.Equal(got, []int{7}) {
		t.Errorf("unset: %v, %v; want the default [7]", got, err)
	}
	t.Setenv("FIBERBNN_TEST_INTS", " 3, 10 ,256")
	if got, err := EnvInts("FIBERBNN_TEST_INTS", nil); err != nil || !slices.Equal(got, []int{3, 10, 256}) {
		t.Errorf("got %v, %v; want [3 10 256]", got, err)
	}
	for _, bad := range []string{"0", "3,x", "-1", "4,,5"} {
		t.Setenv("FIBERBNN_TEST_INTS", bad)
		if _, err := EnvInts("FIBERBNN_TEST_INTS", nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// On Linux the peak RSS is at least the current RSS, and both are positive; a missing field is reported.
func TestStatusMiB(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/status is Linux's")
	}
	rss, ok1 := StatusMiB("VmRSS")
	peak, ok2 := StatusMiB("VmHWM")
	if !ok1 || !ok2 || !(rss > 0) || peak < rss {
		t.Errorf("VmRSS %v (%v), VmHWM %v (%v): want 0 < RSS ≤ peak", rss, ok1, peak, ok2)
	}
	if _, ok := StatusMiB("NoSuchField"); ok {
		t.Errorf("a missing field reported ok")
	}
}
