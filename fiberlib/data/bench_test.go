package data

import "testing"

// BenchmarkOpenUCIRegressionNaval parses the largest UCI regression file (11934 rows × 18 columns).
func BenchmarkOpenUCIRegressionNaval(b *testing.B) {
	dir := dataDir(b)
	for b.Loop() {
		if _, err := OpenUCIRegression(dir, "naval-propulsion-plant"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadMNISTTest reads the gzip'd MNIST test set (10000 images) into float32.
func BenchmarkLoadMNISTTest(b *testing.B) {
	dir := dataDir(b)
	for b.Loop() {
		if _, err := LoadMNISTTest(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStandardizeFit fits and applies the standardisation on kin8nm's training split 0.
func BenchmarkStandardizeFit(b *testing.B) {
	train, test, err := LoadUCIRegression(dataDir(b), "kin8nm", 0)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := Standardize(train, test); err != nil {
			b.Fatal(err)
		}
	}
}
