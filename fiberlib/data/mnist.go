package data

import (
	"fmt"
	"os"
	"path/filepath"
)

// MNISTClassNames are the class names of MNIST (the digits).
var MNISTClassNames = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// FashionMNISTClassNames are the class names of Fashion-MNIST, in label order.
var FashionMNISTClassNames = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// LoadIDXImages builds a classification set from an IDX image file ([N, rows, cols] unsigned bytes) and an
// IDX label file ([N] unsigned bytes in [0, classes)), each gzip-compressed or plain. Pixels become float32 in
// [0, 1] (byte/255); InputShape is [rows, cols, 1].
func LoadIDXImages(imagesPath, labelsPath, name string, classes int) (*Dataset, error) {
	img, err := ReadIDXFile(imagesPath)
	if err != nil {
		return nil, err
	}
	lab, err := ReadIDXFile(labelsPath)
	if err != nil {
		return nil, err
	}
	return idxToDataset(img, imagesPath, lab, labelsPath, name, classes)
}

// idxToDataset checks an image array and a label array against each other and converts them.
func idxToDataset(img *IDX, imagesPath string, lab *IDX, labelsPath, name string, classes int) (*Dataset, error) {
	if len(img.Dims) != 3 {
		return nil, fmt.Errorf("%s: IDX dims %v, want 3 dimensions [images, rows, cols]: is this an image file (…-images-idx3-ubyte)?", imagesPath, img.Dims)
	}
	if len(lab.Dims) != 1 {
		return nil, fmt.Errorf("%s: IDX dims %v, want 1 dimension [labels]: is this a label file (…-labels-idx1-ubyte)?", labelsPath, lab.Dims)
	}
	n, rows, cols := img.Dims[0], img.Dims[1], img.Dims[2]
	if lab.Dims[0] != n {
		return nil, fmt.Errorf("%s has %d images but %s has %d labels: the files do not belong together", imagesPath, n, labelsPath, lab.Dims[0])
	}
	ds := &Dataset{Name: name, Task: Classification, N: n, D: rows * cols, InputShape: []int{rows, cols, 1}, Classes: classes}
	ds.X = make([]float32, len(img.Data))
	for i, b := range img.Data {
		ds.X[i] = float32(b) / 255
	}
	ds.Labels = make([]int32, n)
	for i, b := range lab.Data {
		if int(b) >= classes {
			return nil, fmt.Errorf("%s: label %d of example %d is out of range [0, %d): the file is not a %d-class label file",
				labelsPath, b, i, classes, classes)
		}
		ds.Labels[i] = int32(b)
	}
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	return ds, nil
}

// mnistFile returns dir/base.gz if it exists, else dir/base (an unpacked copy), else "" .
func mnistFile(dir, base string) string {
	for _, p := range []string{filepath.Join(dir, base+".gz"), filepath.Join(dir, base)} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// loadIDXPair loads <prefix>-images-idx3-ubyte[.gz] and <prefix>-labels-idx1-ubyte[.gz] from dir and checks
// the image size (28×28) and the count.
func loadIDXPair(dir, prefix, name string, wantN int) (*Dataset, error) {
	var paths [2]string
	for k, base := range []string{prefix + "-images-idx3-ubyte", prefix + "-labels-idx1-ubyte"} {
		if paths[k] = mnistFile(dir, base); paths[k] == "" {
			return nil, fmt.Errorf("%s: neither %s.gz nor %s found: copy the IDX files there", dir, base, base)
		}
	}
	ds, err := LoadIDXImages(paths[0], paths[1], name, 10)
	if err != nil {
		return nil, err
	}
	if ds.InputShape[0] != 28 || ds.InputShape[1] != 28 {
		return nil, fmt.Errorf("%s: images are %d×%d, want 28×28 for %s", paths[0], ds.InputShape[0], ds.InputShape[1], name)
	}
	if wantN > 0 && ds.N != wantN {
		return nil, fmt.Errorf("%s: %d images, want %d for %s: the file is not the complete set", paths[0], ds.N, wantN, name)
	}
	return ds, nil
}

// LoadMNISTTest reads the MNIST test set (10000 images, 28×28, labels 0..9) from dir/mnist-test, where dir is
// the reference data directory (see Dir), or from dir itself when it holds the files
// (t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz, gzip'd or plain). Used as the out-of-distribution
// set for Fashion-MNIST models.
func LoadMNISTTest(dir string) (*Dataset, error) {
	sub := filepath.Join(dir, "mnist-test")
	if mnistFile(sub, "t10k-images-idx3-ubyte") == "" && mnistFile(dir, "t10k-images-idx3-ubyte") != "" {
		sub = dir
	}
	ds, err := loadIDXPair(sub, "t10k", "mnist-test", 10000)
	if err != nil {
		return nil, err
	}
	ds.ClassNames = append([]string(nil), MNISTClassNames...)
	return ds, nil
}
