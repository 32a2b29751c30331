package fiber

import (
	"reflect"
	"testing"
)

// TestParsePeerCases checks the FIBERBNN_PEERS_CASES syntax shared with bench/peers/walk_jax.py, the names
// the result tables join on, and the flop count of a step.
func TestParsePeerCases(t *testing.T) {
	cs, err := parsePeerCases(" 200x200:1024:64:10 ; 16:64:8:1,10,100;")
	if err != nil {
		t.Fatal(err)
	}
	want := []peerCase{{Hidden: []int{200, 200}, NumData: 1024, Particles: 64, SPC: []int{10}},
		{Hidden: []int{16}, NumData: 64, Particles: 8, SPC: []int{1, 10, 100}}}
	if !reflect.DeepEqual(cs, want) {
		t.Fatalf("parsed %+v, want %+v", cs, want)
	}
	if got := cs[0].name(); got != "mlp200x200/n1024/N64" {
		t.Errorf("name %q", got)
	}
	// 6·n·(8·200 + 200·200 + 200·1) for n = 1024.
	if got, want := peerFlops(cs[0]), 6.0*1024*41800; got != want {
		t.Errorf("flops %g, want %g", got, want)
	}
	for _, bad := range []string{"200:1024:64", "0:10:10:1", "20:x:10:1", "20:10:10:0", "20:10:-1:1"} {
		if _, err := parsePeerCases(bad); err == nil {
			t.Errorf("parsePeerCases(%q): no error", bad)
		}
	}
}
