package samples

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/binfile"
)

// Kind is the binfile kind of sample set files.
const Kind = "fiberbnn.samples"

// FormatVersion is the version of the sample set file schema this package writes and the newest it reads.
const FormatVersion = 1

// Array names inside a sample set file.
const (
	arrayTheta    = "theta"
	arrayLoss     = "loss"
	arrayMAP      = "map"
	diagPrefix    = "diag/"
	maxDiagLength = 1024 - len(diagPrefix)
)

// header is the JSON header of a sample set file.
type header struct {
	N int `json:"n"`
	P int `json:"p"`
	Meta
	Diagnostics []string `json:"diagnostics,omitempty"`
}

// Save writes s to path atomically (temporary file, fsync, rename), after validating it. Loading the file
// gives back the same set bit for bit (Extras: see Meta).
func (s *Set) Save(path string) error {
	f, err := s.toFile(path)
	if err != nil {
		return err
	}
	if err := binfile.Write(path, f); err != nil {
		return fmt.Errorf("samples: %w", err)
	}
	return nil
}

// toFile validates s and returns its binfile content; path is used in error messages.
func (s *Set) toFile(path string) (*binfile.File, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("samples: not saving %s: %w", path, err)
	}
	names := slices.Sorted(maps.Keys(s.Diagnostics))
	for _, k := range names {
		if len(k) > maxDiagLength {
			return nil, fmt.Errorf("samples: not saving %s: diagnostic name %.20q... longer than %d bytes", path, k, maxDiagLength)
		}
	}
	f := &binfile.File{Kind: Kind, Version: FormatVersion}
	if err := f.SetHeader(header{N: s.N, P: s.P, Meta: s.Meta, Diagnostics: names}); err != nil {
		return nil, fmt.Errorf("samples: not saving %s: the metadata cannot be stored as JSON (NaN or Inf in Extras?): %w", path, err)
	}
	add := func(name string, shape []int, data []float32) error {
		if err := f.Add(name, shape, data); err != nil {
			return fmt.Errorf("samples: not saving %s: %w", path, err)
		}
		return nil
	}
	if err := add(arrayTheta, []int{s.N, s.P}, s.Theta); err != nil {
		return nil, err
	}
	if s.Loss != nil {
		if err := add(arrayLoss, []int{s.N}, s.Loss); err != nil {
			return nil, err
		}
	}
	if s.MAP != nil {
		if err := add(arrayMAP, []int{s.P}, s.MAP); err != nil {
			return nil, err
		}
	}
	for _, k := range names {
		if err := add(diagPrefix+k, []int{s.N}, s.Diagnostics[k]); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// MustSave is Save for notebooks: it panics on error.
func (s *Set) MustSave(path string) {
	if err := s.Save(path); err != nil {
		panic(err)
	}
}

// Load reads a sample set saved by Save. A missing, truncated, damaged or foreign file, one written by a
// newer version, or one holding an invalid set gives an error naming the file and the problem.
func Load(path string) (*Set, error) {
	f, err := binfile.Read(path, Kind, FormatVersion)
	if err != nil {
		if errors.Is(err, binfile.ErrWrongKind) {
			return nil, fmt.Errorf("samples: %w: not a sample set file", err)
		}
		return nil, fmt.Errorf("samples: %w", err)
	}
	return fromFile(path, f)
}

// fromFile returns the set held by f, read from path (used in error messages), after checking it.
func fromFile(path string, f *binfile.File) (*Set, error) {
	var err error
	bad := func(format string, args ...any) error {
		return fmt.Errorf("samples: %s: %s", path, fmt.Sprintf(format, args...))
	}
	var h header
	if err := f.DecodeHeader(&h); err != nil {
		return nil, fmt.Errorf("samples: %w", err)
	}
	s := &Set{Meta: h.Meta, N: h.N, P: h.P}
	get := func(name string, shape ...int) ([]float32, error) {
		data, got, err := f.Float32(name)
		if err != nil {
			return nil, fmt.Errorf("samples: %w", err)
		}
		if !slices.Equal(got, shape) {
			return nil, bad("array %q has shape %v, the header says %v", name, got, shape)
		}
		return data, nil
	}
	if s.Theta, err = get(arrayTheta, h.N, h.P); err != nil {
		return nil, err
	}
	known := map[string]bool{arrayTheta: true}
	if _, ok := f.Lookup(arrayLoss); ok {
		known[arrayLoss] = true
		if s.Loss, err = get(arrayLoss, h.N); err != nil {
			return nil, err
		}
	}
	if _, ok := f.Lookup(arrayMAP); ok {
		known[arrayMAP] = true
		if s.MAP, err = get(arrayMAP, h.P); err != nil {
			return nil, err
		}
	}
	if len(h.Diagnostics) > 0 {
		s.Diagnostics = make(map[string][]float32, len(h.Diagnostics))
	}
	for _, k := range h.Diagnostics {
		known[diagPrefix+k] = true
		if s.Diagnostics[k], err = get(diagPrefix+k, h.N); err != nil {
			return nil, err
		}
	}
	for _, a := range f.Arrays {
		if !known[a.Name] {
			return nil, bad("unexpected array %q", a.Name)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("samples: %s holds an invalid set: %w", path, err)
	}
	return s, nil
}

// MustLoad is Load for notebooks: it panics on error.
func MustLoad(path string) *Set {
	s, err := Load(path)
	if err != nil {
		panic(err)
	}
	return s
}

// Info describes a sample set file without loading its arrays.
type Info struct {
	Meta
	// N and P are the number of samples and of parameters.
	N, P int
	// Diagnostics lists the names of the per-sample diagnostics.
	Diagnostics []string
}

// Stat reads only the header of the sample set file at path: cheap for large sets, e.g. to list the sets
// of a directory. It checks the magic bytes, versions, kind and file length, but not the checksum (Load
// does).
func Stat(path string) (Info, error) {
	f, err := binfile.ReadHeader(path)
	if err != nil {
		return Info{}, fmt.Errorf("samples: %w", err)
	}
	if f.Kind != Kind {
		return Info{}, fmt.Errorf("samples: %s: %w: it holds %q: not a sample set file", path, binfile.ErrWrongKind, f.Kind)
	}
	if f.Version > FormatVersion {
		return Info{}, fmt.Errorf("samples: %s: %w: %s version %d, this build reads up to version %d: update fiberbnn",
			path, binfile.ErrNewerVersion, Kind, f.Version, FormatVersion)
	}
	var h header
	if err := f.DecodeHeader(&h); err != nil {
		return Info{}, fmt.Errorf("samples: %w", err)
	}
	return Info{Meta: h.Meta, N: h.N, P: h.P, Diagnostics: h.Diagnostics}, nil
}
