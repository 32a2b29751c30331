package data

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SystemFashionMNISTDir is where Debian's package dataset-fashion-mnist installs the four IDX files.
const SystemFashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// FashionMNISTURL is the default base URL of the official Fashion-MNIST files (the data folder of
// github.com/zalandoresearch/fashion-mnist). The project's S3 mirror,
// http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/, serves the same files.
const FashionMNISTURL = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"

// EnvHome is the environment variable naming fiberbnn's cache directory (default ~/.cache/fiberbnn), the
// same one the backend package uses for the PJRT plugin.
const EnvHome = "FIBERBNN_HOME"

// systemFashionDir is SystemFashionMNISTDir, replaced by tests that exercise the download path.
var systemFashionDir = SystemFashionMNISTDir

// maxDownloadBytes bounds one downloaded file (the largest official file has 26.4 MB).
const maxDownloadBytes = 64 << 20

// fashionFile is one official Fashion-MNIST file with its pinned SHA-256.
type fashionFile struct {
	name, sha256 string
}

// fashionFiles are the four official files. The SHA-256s are those of the files as published (MD5s in the
// project's README: 8d4fb7e6…, 25c81989…, bef4ecab…, bb300cfd…); they were checked here against Debian's
// package, whose files hold the same deflate streams with the gzip header's file name and time stripped.
var fashionFiles = []fashionFile{
	{"train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"},
	{"train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"},
	{"t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"},
	{"t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"},
}

// FashionMNISTOptions says where LoadFashionMNIST looks for the files and whether it may download them.
// The zero value searches the Debian package's folder, then the cache, then downloads into the cache.
type FashionMNISTOptions struct {
	// Dir, when set, is the only folder used: it must hold the four IDX files (gzip'd or plain), and nothing
	// is downloaded.
	Dir string
	// CacheDir is where downloaded files go and are looked for; default $FIBERBNN_HOME/data/fashion-mnist
	// (FIBERBNN_HOME defaults to ~/.cache/fiberbnn).
	CacheDir string
	// BaseURL is where the official files are downloaded from; default FashionMNISTURL.
	BaseURL string
	// NoDownload forbids downloading: when the files are not found, LoadFashionMNIST fails and says how to
	// get them.
	NoDownload bool
	// Client is the HTTP client for downloads; default one with a 10-minute timeout.
	Client *http.Client
}

// Home returns fiberbnn's cache directory: $FIBERBNN_HOME, or the user cache directory's fiberbnn folder
// (~/.cache/fiberbnn on Linux). It matches backend.Home.
func Home() string {
	if h := os.Getenv(EnvHome); h != "" {
		return h
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "fiberbnn")
	}
	return filepath.Join(os.TempDir(), "fiberbnn")
}

func (o FashionMNISTOptions) cacheDir() string {
	if o.CacheDir != "" {
		return o.CacheDir
	}
	return filepath.Join(Home(), "data", "fashion-mnist")
}

// hasFashionFiles reports whether dir holds all four files (gzip'd or plain).
func hasFashionFiles(dir string) bool {
	for _, f := range fashionFiles {
		if mnistFile(dir, strings.TrimSuffix(f.name, ".gz")) == "" {
			return false
		}
	}
	return true
}

// FashionMNISTDir returns a folder holding the four Fashion-MNIST IDX files: opts.Dir if set; else
// SystemFashionMNISTDir when complete; else the cache folder, after checking every cached file's SHA-256 and
// downloading the missing ones (unless opts.NoDownload). Downloads are verified before they are kept:
// a file whose checksum differs from the pinned official one is deleted and reported.
func FashionMNISTDir(opts FashionMNISTOptions) (string, error) {
	if opts.Dir != "" {
		if !hasFashionFiles(opts.Dir) {
			return "", fmt.Errorf("fashion-mnist: %s does not hold the four files (%s, gzip'd or plain): copy them there, or leave Dir empty to use the Debian package or a download",
				opts.Dir, fashionNames())
		}
		return opts.Dir, nil
	}
	if hasFashionFiles(systemFashionDir) {
		return systemFashionDir, nil
	}
	cache := opts.cacheDir()
	var missing []fashionFile
	for _, f := range fashionFiles {
		path := filepath.Join(cache, f.name)
		if _, err := os.Stat(path); err != nil {
			missing = append(missing, f)
			continue
		}
		if err := verifySHA256(path, f.sha256); err != nil {
			return "", fmt.Errorf("fashion-mnist: cached %w: delete the file and run again to download it afresh", err)
		}
	}
	if len(missing) == 0 {
		return cache, nil
	}
	if opts.NoDownload {
		return "", fmt.Errorf("fashion-mnist: files not found in %s or %s, and downloading is off: install Debian's package (apt-get install dataset-fashion-mnist), set FashionMNISTOptions.Dir to a folder holding %s, or allow the download",
			systemFashionDir, cache, fashionNames())
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("fashion-mnist: cannot create the cache folder: %w: set $%s or FashionMNISTOptions.CacheDir to a writable folder", err, EnvHome)
	}
	base := opts.BaseURL
	if base == "" {
		base = FashionMNISTURL
	}
	client := opts.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Minute}
	}
	for _, f := range missing {
		url := strings.TrimSuffix(base, "/") + "/" + f.name
		if err := downloadVerified(client, url, filepath.Join(cache, f.name), f.sha256); err != nil {
			return "", fmt.Errorf("fashion-mnist: %w; or install Debian's package dataset-fashion-mnist, or put the official files in %s", err, cache)
		}
	}
	return cache, nil
}

func fashionNames() string {
	names := make([]string, len(fashionFiles))
	for i, f := range fashionFiles {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// LoadFashionMNIST returns the Fashion-MNIST training (60000) and test (10000) sets: 28×28 grey images as
// float32 in [0, 1] (InputShape [28, 28, 1], D = 784), labels 0..9 named by FashionMNISTClassNames. See
// FashionMNISTDir for where the files come from.
func LoadFashionMNIST(opts FashionMNISTOptions) (train, test *Dataset, err error) {
	dir, err := FashionMNISTDir(opts)
	if err != nil {
		return nil, nil, err
	}
	if train, err = loadIDXPair(dir, "train", "fashion-mnist/train", 60000); err != nil {
		return nil, nil, err
	}
	if test, err = loadIDXPair(dir, "t10k", "fashion-mnist/test", 10000); err != nil {
		return nil, nil, err
	}
	train.ClassNames = append([]string(nil), FashionMNISTClassNames...)
	test.ClassNames = append([]string(nil), FashionMNISTClassNames...)
	return train, test, nil
}

// verifySHA256 checks a file's SHA-256 against want (hex).
func verifySHA256(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fileError(path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("file %s has sha256 %s, want %s (the official file's)", path, got, want)
	}
	return nil
}

// downloadVerified fetches url into dest atomically: the body goes to a temporary file beside dest while its
// SHA-256 is computed; only when the checksum matches want is the file renamed to dest. On any failure the
// temporary file is removed, so nothing unverified is left behind.
func downloadVerified(client *http.Client, url, dest, want string) (err error) {
	resp, err := client.Get(url)
	if err != nil {
		return fmt.Errorf("download %s: %w: check the network or the URL", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download %s: HTTP %s: check the URL", url, resp.Status)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".part-*")
	if err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, maxDownloadBytes+1))
	if err != nil {
		return fmt.Errorf("download %s: interrupted after %d bytes: %w: try again", url, n, err)
	}
	if n > maxDownloadBytes {
		return fmt.Errorf("download %s: more than %d bytes: this is not the expected file; nothing was kept", url, maxDownloadBytes)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("download %s: sha256 %s, want %s (the pinned checksum of the official file): the download is corrupt or the file changed upstream; nothing was kept",
			url, got, want)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	if err = os.Rename(tmp.Name(), dest); err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	return nil
}
