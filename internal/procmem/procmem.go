// Package procmem reads this process's memory figures and the size lists the benchmarks take from the
// environment; shared by the scaling benchmarks and cmd/fibersoak.
package procmem

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// StatusMiB returns a kB field of /proc/self/status ("VmRSS", "VmHWM", ...) in MiB; ok is false where the
// file or the field is missing (not Linux).
func StatusMiB(field string) (mib float64, ok bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, found := strings.CutPrefix(sc.Text(), field+":"); found {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				return 0, false
			}
			kb, err := strconv.ParseFloat(fields[0], 64)
			return kb / 1024, err == nil
		}
	}
	return 0, false
}

// PeakRSSMiB returns the process's peak resident set size (VmHWM) in MiB, or 0 where it is unknown.
func PeakRSSMiB() float64 {
	v, _ := StatusMiB("VmHWM")
	return v
}

// EnvInts reads a comma-separated list of positive integers from the environment variable name, or returns
// def when it is unset.
func EnvInts(name string, def []int) ([]int, error) {
	s := os.Getenv(name)
	if s == "" {
		return def, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%s=%q: want a comma-separated list of positive integers", name, s)
		}
		out = append(out, v)
	}
	return out, nil
}
