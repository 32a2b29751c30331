#!/usr/bin/env bash
# Side-by-side benchmark of fiberbnn against its Python peers on this machine (issue #8; see bench/peers/README.md):
#   - the fiber walk (fiberlib/fiber BenchmarkPeerWalk) against the same walk in JAX (bench/peers/walk_jax.py);
#   - Laplace fit and predictive (fiberlib/laplace BenchmarkPeerLaplace) and flow sampling + MC predictive
#     (fiberlib/flow BenchmarkPeerFlowPredictive) against laplace-torch (bench/peers/laplace_torch.py).
# The peers live in their own virtual environment (.cache/venv-peers, created here, idempotent; never needed by
# `make setup` or the tests). The two sides are timed in alternating rounds and the medians reported.
#
#   scripts/bench-peers.sh                 # all, PEERS_ROUNDS rounds (default 3), results in bench/results/<date>-peers
#   PEERS_OUT=/tmp/x scripts/bench-peers.sh walk     # only the walk; or: laplace
#   scripts/bench-peers.sh scaling         # cost vs P and N (no peers): bench/results/<date>-peers-scaling
#   scripts/bench-peers.sh --setup-only    # only the virtual environment
#   scripts/bench-peers.sh --print-python  # the Python it uses (3.12 or newer, needed by jax 0.12)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${PEERS_VENV:-$ROOT/.cache/venv-peers}"
REQ="$ROOT/bench/peers/requirements.txt"

find_python() {
  local c v
  for c in "${PEERS_PYTHON:-}" python3.12 python3.13 python3 \
      "$(command -v pyenv >/dev/null && pyenv root || echo "$HOME/.pyenv")"/versions/3.1[23]*/bin/python3; do
    [[ -n "$c" ]] || continue
    command -v "$c" >/dev/null 2>&1 || [[ -x "$c" ]] || continue
    v=$("$c" -c 'import sys; print(sys.version_info >= (3, 12))' 2>/dev/null) || continue
    if [[ "$v" == True ]]; then command -v "$c" 2>/dev/null || echo "$c"; return 0; fi
  done
  echo "bench-peers: no Python >= 3.12 found (jax 0.12 needs it); set PEERS_PYTHON=/path/to/python3.12" >&2
  return 1
}

if [[ "${1:-}" == "--print-python" ]]; then find_python; exit; fi

setup_venv() {
  local stamp="$VENV/.requirements.sha256" want
  want=$(sha256sum "$REQ" | cut -d' ' -f1)
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return 0; fi
  local py; py=$(find_python)
  echo "== peers: creating $VENV with $py (JAX, PyTorch CPU use, laplace-torch; see bench/peers/pin.sh)"
  rm -rf "$VENV"
  "$py" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --require-hashes -r "$REQ"
  "$VENV/bin/python" -c 'import jax, torch, laplace; print("peers: jax", jax.__version__, "torch", torch.__version__)'
  echo "$want" > "$stamp"
}

what="${1:-all}"
if [[ "$what" != scaling ]]; then setup_venv; fi
if [[ "$what" == --setup-only ]]; then exit 0; fi

# Go side: XLA on CPU through the project's plugin (as `make setup` installs it).
export FIBERBNN_HOME="${FIBERBNN_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/fiberbnn}"
export PJRT_PLUGIN_LIBRARY_PATH="${PJRT_PLUGIN_LIBRARY_PATH:-$FIBERBNN_HOME/pjrt}"
export GOMLX_NO_AUTO_INSTALL=1
if [[ -z "${FIBERBNN_DATA:-}" && -d "$ROOT/../shared/data" ]]; then export FIBERBNN_DATA="$(cd "$ROOT/../shared/data" && pwd)"; fi
PY="$VENV/bin/python"
if [[ "$what" == scaling ]]; then
  OUT="${PEERS_OUT:-$ROOT/bench/results/$(date -u +%F)-peers-scaling}"
  mkdir -p "$OUT/raw"
  {
    echo "date: $(date -u +%FT%TZ)"
    echo "command: scripts/bench-peers.sh scaling  (FIBERBNN_SCALING_H=${FIBERBNN_SCALING_H:-27,95,312,995} FIBERBNN_SCALING_N=${FIBERBNN_SCALING_N:-1,4,16,64,256})"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo '+dirty')"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc), memory $(free -g | awk '/Mem:/ {print $2}') GiB"
    echo "load-before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "go: $(go version | cut -d' ' -f3-); gomlx: $(go list -m -f '{{.Version}}' github.com/gomlx/gomlx)"
  } > "$OUT/machine.txt"
  for pkg in fiber:ScalingWalk laplace:ScalingLaplace flow:ScalingFlowSample; do
    echo "== scaling: ${pkg#*:}"
    (cd "fiberlib/${pkg%%:*}" && go test -run '^$' -bench "${pkg#*:}" -benchtime 1x -timeout 60m .) | tee "$OUT/raw/${pkg%%:*}.txt"
  done
  echo "load-after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
  go run ./cmd/fiberpeers -dir "$OUT"
  exit 0
fi
ROUNDS="${PEERS_ROUNDS:-3}"
OUT="${PEERS_OUT:-$ROOT/bench/results/$(date -u +%F)-peers}"
RAW="$OUT/raw"
mkdir -p "$RAW"
BIN="$ROOT/build/peers"
mkdir -p "$BIN"
echo "== peers: building the Go benchmark binaries"
go test -c -o "$BIN/fiber.test" ./fiberlib/fiber/
go test -c -o "$BIN/laplace.test" ./fiberlib/laplace/
go test -c -o "$BIN/flow.test" ./fiberlib/flow/

# The walk cases: target size (issue #8: N = 64, 2×200 MLP, batch 1024) and a small one for the per-call
# overhead (steps per call 1, 10, 100).
export FIBERBNN_PEERS_CASES="${PEERS_WALK_CASES:-200x200:1024:64:10;16:64:64:1,10,100}"
WALK_TIME="${PEERS_WALK_TIME:-2s}"  # at least this long per timing, each side

# The Laplace problem (data, MAP) is written by the Go benchmark in the first round (Go runs first in odd
# rounds) and read by the flow benchmark and laplace_torch.py.
export FIBERBNN_PEERS_LAPLACE_DIR="$RAW/problem"

gobench() { # dir binary bench benchtime logfile
  (cd "$ROOT/$1" && "$BIN/$2" -test.run '^$' -test.bench "$3" -test.benchtime "$4" -test.count 1) >> "$5" 2>&1
}

{
  echo "date: $(date -u +%FT%TZ)"
  echo "command: scripts/bench-peers.sh $*  (PEERS_ROUNDS=$ROUNDS FIBERBNN_PEERS_CASES=$FIBERBNN_PEERS_CASES)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo '+dirty')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "load-before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "go: $(go version | cut -d' ' -f3-)"
  echo "gomlx: $(go list -m -f '{{.Version}}' github.com/gomlx/gomlx)  go-xla: $(go list -m -f '{{.Version}}' github.com/gomlx/go-xla)"
  echo "pjrt-plugin: $(ls "$PJRT_PLUGIN_LIBRARY_PATH" 2>/dev/null | tr '\n' ' ')"
  echo "python: $("$PY" -c 'import sys; print(sys.version.split()[0])')"
  echo "peers: $("$PY" -c 'import jax, jaxlib, torch, laplace, numpy; print("jax", jax.__version__, "jaxlib", jaxlib.__version__, "torch", torch.__version__, "laplace-torch 0.3", "numpy", numpy.__version__, "torch-threads", torch.get_num_threads())')"
  echo "XLA_FLAGS: ${XLA_FLAGS:-<default>}"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"

for r in $(seq 1 "$ROUNDS"); do
  echo "== peers: round $r/$ROUNDS"
  if [[ "$what" == all || "$what" == walk ]]; then
    # Go first in odd rounds, JAX first in even rounds.
    go_walk() { gobench fiberlib/fiber fiber.test 'PeerWalk$|MatmulPeakXLA' "$WALK_TIME" "$RAW/go-walk.txt"; }
    jax_walk() { JAX_PLATFORMS=cpu "$PY" bench/peers/walk_jax.py --matmul --cases "$FIBERBNN_PEERS_CASES" --calls 1 \
                   --seconds "${WALK_TIME%s}" >> "$RAW/jax-walk.jsonl"; }
    if (( r % 2 )); then go_walk; jax_walk; else jax_walk; go_walk; fi
  fi
  if [[ "$what" == all || "$what" == laplace ]]; then
    go_la() { gobench fiberlib/laplace laplace.test 'PeerLaplace$' 1x "$RAW/go-laplace.txt";
              gobench fiberlib/flow flow.test 'PeerFlowPredictive$' 3x "$RAW/go-laplace.txt"; }
    torch_la() { "$PY" bench/peers/laplace_torch.py >> "$RAW/torch-laplace.jsonl"; }
    if (( r % 2 )); then go_la; torch_la; else torch_la; go_la; fi
  fi
done
if [[ "$what" == all || "$what" == walk ]]; then
  # Same arithmetic: the JAX walk reproduces the Go walk's state after 20 steps.
  rm -rf "$RAW/dump"
  FIBERBNN_PEERS_DUMP="$RAW/dump" FIBERBNN_PEERS_CASES="16:64:64:1" gobench fiberlib/fiber fiber.test 'PeerWalkDump$' 1x "$RAW/dump.log"
  JAX_PLATFORMS=cpu "$PY" bench/peers/walk_jax.py --check "$RAW/dump" | tee "$RAW/check.json"
  rm -rf "$RAW/dump"
fi
rm -rf "$RAW/problem"
echo "load-after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
"$PY" bench/peers/table.py "$OUT"
