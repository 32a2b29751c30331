package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// skipWithoutFashionMNIST skips when Debian's dataset-fashion-mnist is not installed.
func skipWithoutFashionMNIST(t *testing.T) {
	t.Helper()
	if !hasFashionFiles(SystemFashionMNISTDir) {
		t.Skipf("Fashion-MNIST not installed in %s (apt-get install dataset-fashion-mnist); skipping", SystemFashionMNISTDir)
	}
}

func TestFashionMNISTSystem(t *testing.T) {
	skipWithoutFashionMNIST(t)
	train, test, err := LoadFashionMNIST(FashionMNISTOptions{NoDownload: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ds       *Dataset
		n, class int
	}{{train, 60000, 6000}, {test, 10000, 1000}} {
		if c.ds.N != c.n || c.ds.D != 784 || !slices.Equal(c.ds.InputShape, []int{28, 28, 1}) || len(c.ds.ClassNames) != 10 {
			t.Fatalf("%s: N=%d D=%d shape %v", c.ds.Name, c.ds.N, c.ds.D, c.ds.InputShape)
		}
		// Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
		for k, n := range c.ds.ClassCounts() {
			if n != c.class {
				t.Fatalf("%s: class %d has %d images, want %d", c.ds.Name, k, n, c.class)
			}
		}
	}
	// Mean and std of the training pixels: 0.2860 and 0.3530, the normalisation constants commonly used.
	var s, sq float64
	for _, v := range train.X {
		s += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(train.X))
	mean := s / n
	if sd := math.Sqrt(sq/n - mean*mean); !approx(mean, 0.2860, 5e-4) || !approx(sd, 0.3530, 5e-4) {
		t.Fatalf("training pixels: mean %v std %v, want 0.2860 and 0.3530", mean, sd)
	}
	// The first training label of the official file is 9 (ankle boot); the first test label is 9 too.
	if train.Labels[0] != 9 || test.Labels[0] != 9 || train.ClassNames[9] != "Ankle boot" {
		t.Fatalf("first labels %d, %d", train.Labels[0], test.Labels[0])
	}
}

// withFashionFiles replaces the pinned file table and the system folder for one test.
func withFashionFiles(t *testing.T, files []fashionFile) {
	oldFiles, oldSys := fashionFiles, systemFashionDir
	fashionFiles, systemFashionDir = files, filepath.Join(t.TempDir(), "no-system-copy")
	t.Cleanup(func() { fashionFiles, systemFashionDir = oldFiles, oldSys })
}

// server serves files by name and counts requests.
func server(t *testing.T, files map[string][]byte) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, ok := files[strings.TrimPrefix(r.URL.Path, "/fm/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func listDir(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestFashionMNISTDownload exercises the download path against a loopback server with small stand-in files
// and their checksums: download, reuse of the verified cache, checksum mismatch, missing file, corrupt cache,
// and downloading switched off.
func TestFashionMNISTDownload(t *testing.T) {
	a, b := []byte("file a contents"), []byte("file b, different")
	withFashionFiles(t, []fashionFile{{"a-idx.gz", sha(a)}, {"b-idx.gz", sha(b)}})
	srv, hits := server(t, map[string][]byte{"a-idx.gz": a, "b-idx.gz": b, "evil-idx.gz": []byte("tampered")})
	cache := filepath.Join(t.TempDir(), "cache")
	opts := FashionMNISTOptions{CacheDir: cache, BaseURL: srv.URL + "/fm/"}

	dir, err := FashionMNISTDir(opts)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "b-idx.gz"))
	if dir != cache || string(got) != string(b) || hits.Load() != 2 {
		t.Fatalf("download: dir %s, content %q, %d requests", dir, got, hits.Load())
	}
	if names := listDir(t, cache); !slices.Equal(names, []string{"a-idx.gz", "b-idx.gz"}) {
		t.Fatalf("cache holds %v, want the two files only", names)
	}
	// Second call: the verified cache is used, nothing is fetched.
	if _, err := FashionMNISTDir(opts); err != nil || hits.Load() != 2 {
		t.Fatalf("cache reuse: %v, %d requests", err, hits.Load())
	}
	// A cached file that changed is reported, not used.
	os.WriteFile(filepath.Join(cache, "a-idx.gz"), []byte("bit rot"), 0o644)
	_, err = FashionMNISTDir(opts)
	wantErr(t, err, "cached file", "a-idx.gz", "has sha256 "+sha([]byte("bit rot")), "want "+sha(a), "delete the file")

	// Checksum mismatch on download: a clear error, and nothing is left in the cache.
	withFashionFiles(t, []fashionFile{{"evil-idx.gz", sha(a)}})
	fresh := filepath.Join(t.TempDir(), "fresh")
	_, err = FashionMNISTDir(FashionMNISTOptions{CacheDir: fresh, BaseURL: srv.URL + "/fm"})
	wantErr(t, err, "evil-idx.gz", "sha256 "+sha([]byte("tampered")), "want "+sha(a), "nothing was kept", "dataset-fashion-mnist")
	if names := listDir(t, fresh); len(names) != 0 {
		t.Fatalf("mismatch left files behind: %v", names)
	}
	// A file the server does not have.
	withFashionFiles(t, []fashionFile{{"gone-idx.gz", sha(a)}})
	_, err = FashionMNISTDir(FashionMNISTOptions{CacheDir: fresh, BaseURL: srv.URL + "/fm/"})
	wantErr(t, err, "gone-idx.gz", "HTTP 404")
	if names := listDir(t, fresh); len(names) != 0 {
		t.Fatalf("404 left files behind: %v", names)
	}
	// Download switched off: the error says where it looked and how to get the files.
	_, err = FashionMNISTDir(FashionMNISTOptions{CacheDir: fresh, NoDownload: true})
	wantErr(t, err, "downloading is off", fresh, "apt-get install dataset-fashion-mnist")
	// An explicit Dir without the files.
	_, err = FashionMNISTDir(FashionMNISTOptions{Dir: fresh})
	wantErr(t, err, fresh, "does not hold the four files")
}

// officialFromDebian rebuilds an official Fashion-MNIST .gz file from Debian's copy: Debian's files hold the
// same deflate stream, with the gzip header's original file name and modification time stripped.
func officialFromDebian(t *testing.T, name string) []byte {
	deb, err := os.ReadFile(filepath.Join(SystemFashionMNISTDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if len(deb) < 10 || deb[0] != 0x1f || deb[1] != 0x8b || deb[3] != 0 {
		t.Skipf("%s: not the expected Debian gzip header; cannot rebuild the official file", name)
	}
	mtime := uint32(1504176627) // 2017-08-31 10:50:27 UTC for the t10k files
	if strings.HasPrefix(name, "train") {
		mtime = 1504176606 // 10:50:06 for the train files
	}
	out := []byte{0x1f, 0x8b, 8, 0x08 /* FNAME */, 0, 0, 0, 0, deb[8], deb[9]}
	binary.LittleEndian.PutUint32(out[4:8], mtime)
	out = append(out, strings.TrimSuffix(name, ".gz")...)
	out = append(out, 0)
	return append(out, deb[10:]...)
}

// TestFashionMNISTDownloadOfficial serves the official files (rebuilt from Debian's package) on loopback and
// downloads them with the pinned checksums: this checks the pins themselves and the whole path to a loaded
// data set.
func TestFashionMNISTDownloadOfficial(t *testing.T) {
	skipWithoutFashionMNIST(t)
	files := map[string][]byte{}
	for _, f := range fashionFiles {
		files[f.name] = officialFromDebian(t, f.name)
	}
	srv, hits := server(t, files)
	withFashionFiles(t, fashionFiles)
	cache := filepath.Join(t.TempDir(), "cache")
	train, test, err := LoadFashionMNIST(FashionMNISTOptions{CacheDir: cache, BaseURL: srv.URL + "/fm/"})
	if err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 4 || train.N != 60000 || test.N != 10000 {
		t.Fatalf("%d requests, N %d/%d", hits.Load(), train.N, test.N)
	}
	if train.Labels[0] != 9 || test.ClassCounts()[3] != 1000 {
		t.Fatalf("downloaded set: first label %d, %d dresses in test", train.Labels[0], test.ClassCounts()[3])
	}

}
