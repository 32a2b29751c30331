// Package samples holds a set of posterior samples: N parameter vectors of P numbers each, [N, P]
// row-major float32, together with how they were made (method, seed, network, data set, timings), the
// training loss of each sample, optional per-sample diagnostics, an optional MAP vector and free-form
// extras.
//
// Every sampler of fiberlib (fiber walk, flow, Laplace, ensembles, SWAG, HMC) returns a *Set, and the
// prediction and benchmark code reads one. A GoNB notebook forgets values between cells, so sets are saved
// to disk and reloaded, cheaply and bit for bit: [Set.Save] and [Load].
//
// # Validity
//
// A valid set has N >= 1 samples, P >= 1 parameters, finite parameters (NaN or ±Inf in a row is an error
// naming the rows, because a diverged sample would poison every prediction averaged over the set), finite
// losses and a MAP vector of length P if it has one. Diagnostics may hold any float32 value, NaN included
// (a diagnostic can be undefined for a sample). [Set.Validate] checks this; Save refuses an invalid set and
// Load re-checks what it read. [Set.NonFinite] lists the bad rows and [Set.DropNonFinite] removes them.
//
// # File format
//
// A sample set file is a binfile container (fiberlib/internal/binfile: magic bytes, container version,
// length, kind, kind version, JSON header, arrays, CRC-32C; written atomically) of kind "fiberbnn.samples",
// version 1 (FormatVersion), holding:
//
//	header (JSON)   {"n": N, "p": P, "method": ..., "seed": ..., "network": <any JSON>, "dataset": ...,
//	                 "fit_seconds": ..., "sample_seconds": ..., "extras": {...}, "diagnostics": [names]}
//	"theta"         float32 [N, P]   the samples, row-major
//	"loss"          float32 [N]      training loss per sample (only if Loss is set)
//	"map"           float32 [P]      the MAP vector (only if MAP is set)
//	"diag/<name>"   float32 [N]      one array per diagnostic
//
// A reader accepts kind versions up to FormatVersion and rejects newer ones with a message asking to
// update. The suggested file extension is ".fbs".
package samples
