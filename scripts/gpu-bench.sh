#!/usr/bin/env bash
# GoMLX-on-GPU vs JAX-on-GPU: the fiber walk side by side on a lent GPU machine (issue #8, item 4), with the
# card's measured float32 matrix-product peak as the roofline. Nothing is built on the GPU machine.
#
# Here (this machine, Go toolchain):
#   scripts/gpu-bench.sh build          # go test -c → build/peers-gpu/fiber.test (stripped, ≈19 MB)
# Then, through the device tool, from the repository root (the working tree travels; build/ is ignored, so
# carry it):  run(command="scripts/gpu-bench.sh run", carry=["build/peers-gpu"], timeout_s=540)
#   scripts/gpu-bench.sh run            # on the GPU machine: checks, then the table; results in $OUT
#
# On the GPU machine, JAX and its CUDA PJRT plugin are taken from an existing Python environment (the lent
# machines have one at /opt/torch/.venv: JAX 0.11.2 with jax_plugins/xla_cuda13). GoMLX loads that same
# plugin file by absolute path (GOMLX_BACKEND=xla:/abs/path/xla_cuda_plugin.so; the absolute path keeps the
# plugin's RPATH to its nvidia libraries), with GOMLX_NO_AUTO_INSTALL=1 and GOPJRT_CUDA_CHECKS=0, as
# ../shared/design/stack.md (beside the checkout) records. Override with GPU_PYTHON=/path/to/python and GPU_PLUGIN=/path/to/plugin.so.
# The run fails with a clear message when there is no GPU, no such Python, or no CUDA plugin.
#
# Sizes (GPU_CASES, the FIBERBNN_PEERS_CASES syntax hidden:n:N:spc): the CPU target case, a per-call-overhead
# case, and two that fill the card much more (N = 256 particles of 2×512 and 2×1024 MLPs on 4096 and 2048
# examples: about 1.7 and 3.3 TFLOP per step, 10-25 GB of state and activations).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/build/peers-gpu"
CASES="${GPU_CASES:-16:64:64:1,10,100;200x200:1024:64:10,100;512x512:4096:256:10;1024x1024:2048:256:10}"

case "${1:-}" in
build)
  mkdir -p "$BIN"
  go test -c -ldflags "-s -w" -o "$BIN/fiber.test" ./fiberlib/fiber/
  ls -la "$BIN"
  echo "built; now run through the device tool: command 'scripts/gpu-bench.sh run', carry ['build/peers-gpu']"
  exit 0 ;;
run) ;;
*) echo "usage: scripts/gpu-bench.sh build|run" >&2; exit 2 ;;
esac

fail() { echo "gpu-bench: $*" >&2; exit 1; }
[[ -x "$BIN/fiber.test" ]] || fail "no $BIN/fiber.test: run 'scripts/gpu-bench.sh build' here first and carry build/peers-gpu"
command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this is not a GPU machine"
nvidia-smi -L | grep -q GPU || fail "nvidia-smi lists no GPU"
PY="${GPU_PYTHON:-}"
if [[ -z "$PY" ]]; then
  for c in /opt/torch/.venv/bin/python /opt/*/.venv/bin/python "$(command -v python3 || true)"; do
    [[ -n "$c" && -x "$c" ]] && "$c" -c 'import jax, jax_plugins' 2>/dev/null && { PY="$c"; break; }
  done
fi
[[ -n "$PY" ]] || fail "no Python with jax and a CUDA plugin (jax_plugins) found; set GPU_PYTHON"
PLUGIN="${GPU_PLUGIN:-$("$PY" - <<'PYEOF'
import glob, os, jax_plugins
for d in jax_plugins.__path__:
    for f in sorted(glob.glob(os.path.join(d, "xla_cuda*", "xla_cuda_plugin.so")), reverse=True):
        print(os.path.abspath(f)); raise SystemExit
PYEOF
)}"
[[ -n "$PLUGIN" && -f "$PLUGIN" ]] || fail "no xla_cuda_plugin.so under jax_plugins of $PY; set GPU_PLUGIN"
export GOMLX_BACKEND="xla:$PLUGIN" GOMLX_NO_AUTO_INSTALL=1 GOPJRT_CUDA_CHECKS=0
OUT="${OUT:-$ROOT/bench/results/$(date -u +%F)-peers-gpu}"
mkdir -p "$OUT/raw"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "command: scripts/gpu-bench.sh run  (GPU_CASES=$CASES)"
  echo "gpu: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "GOMLX_BACKEND: $GOMLX_BACKEND"
  echo "python: $PY"
  echo "peers: $("$PY" -c 'import jax, jaxlib; print("jax", jax.__version__, "jaxlib", jaxlib.__version__, "devices", jax.devices())')"
} | tee "$OUT/machine.txt"
"$PY" -c 'import jax; assert jax.devices()[0].platform == "gpu", jax.devices()' || fail "JAX does not see the GPU"

export FIBERBNN_PEERS_CASES="$CASES"
ROUNDS="${PEERS_ROUNDS:-2}"
for r in $(seq 1 "$ROUNDS"); do
  echo "== gpu-bench: round $r/$ROUNDS"
  (cd fiberlib/fiber && "$BIN/fiber.test" -test.run '^$' -test.bench 'PeerWalk$|MatmulPeakXLA' -test.benchtime 2s) \
    2>&1 | tee -a "$OUT/raw/go-walk.txt" | grep -E '^Benchmark|backend' || true
  "$PY" bench/peers/walk_jax.py --platform cuda --matmul --cases "$CASES" --calls 1 --seconds 2 \
    | tee -a "$OUT/raw/jax-walk.jsonl"
done
rm -rf "$OUT/raw/dump"
FIBERBNN_PEERS_DUMP="$OUT/raw/dump" FIBERBNN_PEERS_CASES="16:64:64:1" \
  "$BIN/fiber.test" -test.run '^$' -test.bench 'PeerWalkDump$' -test.benchtime 1x > /dev/null
"$PY" bench/peers/walk_jax.py --check "$OUT/raw/dump" | tee "$OUT/raw/check.json" || true
rm -rf "$OUT/raw/dump"
"$PY" bench/peers/table.py "$OUT"
