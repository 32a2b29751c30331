package nets_test

import (
	"encoding/json"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
)

// FuzzParseSpec feeds arbitrary bytes to ParseSpec, the parser of the network JSON that sample and flow
// files and notebooks carry. It must return an error or a spec that lays out without a panic and survives a
// JSON round trip unchanged.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []nets.Spec{nets.MLP(1, []int{50}, 1, nets.Tanh), nets.MLP(13, []int{200, 200}, 2, nets.ReLU),
		nets.SmallCNN(28, 28, 1, 10)} {
		js, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js)
	}
	f.Add([]byte(`{"kind":"mlp","inputs":-1}`))
	f.Add([]byte(`{"kind":"cnn","input_shape":[0,0,0]}`))
	f.Add([]byte(`{"kind":"mlp","inputs":3,"hidden":[4611686018427387904],"outputs":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, js []byte) {
		s, err := nets.ParseSpec(js)
		if err != nil {
			return
		}
		if _, err := s.Layout(); err != nil {
			return
		}
		back, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("a spec ParseSpec accepted does not marshal: %v", err)
		}
		s2, err := nets.ParseSpec(back)
		if err != nil {
			t.Fatalf("round trip of %s refused: %v", back, err)
		}
		if s2.String() != s.String() {
			t.Fatalf("round trip changed the spec: %s -> %s", s, s2)
		}
	})
}
