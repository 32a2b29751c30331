#!/usr/bin/env bash
# Entry point of the fiberbnn image (tini runs it as PID 1's only child, so signals and zombies are handled).
#
#   lab (default)  JupyterLab on 0.0.0.0:$FIBERBNN_LAB_PORT (default 8888) inside the container, on ~/work,
#                  always with a token: $JUPYTER_TOKEN when set (it may not be empty), else a random one. The URL
#                  with the token is printed at start. The tutorial notebooks are copied into ~/work/tutorials
#                  the first time (an existing folder of that name is left alone).
#   test           make test (go vet, every Go test, every notebook, the recipe check) inside the image
#   doctor         bin/fiberkernel doctor
#   anything else  run as a command, e.g. `bash`
#
# Backend: GOMLX_BACKEND when set is obeyed. Otherwise, in the GPU image, JAX's CUDA plugin is used when an
# NVIDIA GPU is visible (docker run --gpus all), XLA on CPU when not; the choice is printed.
set -euo pipefail

ROOT="${FIBERBNN_ROOT:-/opt/fiberbnn/fiberbnn}"
WORK="${FIBERBNN_WORK:-$HOME/work}"
CUDA_DIR="${FIBERBNN_CUDA_DIR:-/opt/fiberbnn/cuda}"
# Where a port file tells docker/healthcheck.sh that JupyterLab should be answering.
PORT_FILE="${FIBERBNN_LAB_PORT_FILE:-/tmp/fiberbnn-lab.port}"

say() { printf 'fiberbnn: %s\n' "$*"; }
die() { printf 'fiberbnn: ERROR: %s\n' "$*" >&2; exit 1; }

choose_backend() {
  if [ -n "${GOMLX_BACKEND+set}" ]; then
    say "backend: GOMLX_BACKEND=$GOMLX_BACKEND (as given)"
    return
  fi
  local plugin
  plugin="$(compgen -G "$CUDA_DIR/jax_plugins/xla_cuda*/xla_cuda_plugin.so" | head -n 1 || true)"
  if [ -z "$plugin" ]; then
    say "backend: XLA on CPU (GOMLX_BACKEND=go for pure Go)"
    return
  fi
  # shellcheck disable=SC2086 # a glob on purpose
  if compgen -G "${FIBERBNN_GPU_DEVICES:-/dev/nvidia[0-9]*}" >/dev/null; then
    export GOMLX_BACKEND="xla:$plugin" GOPJRT_CUDA_CHECKS=0
    say "backend: NVIDIA GPU through JAX's CUDA plugin (GOMLX_BACKEND=$GOMLX_BACKEND)"
  else
    say "backend: XLA on CPU: this image has the CUDA plugin, but no GPU is visible (run with --gpus all)"
  fi
}

lab_token() {
  if [ -n "${JUPYTER_TOKEN+set}" ]; then
    [ -n "$JUPYTER_TOKEN" ] ||
      die "JUPYTER_TOKEN is set but empty: JupyterLab never runs without a token; unset it to get a random one"
    printf '%s' "$JUPYTER_TOKEN"
  elif [ -n "${FIBERBNN_LAB_TOKEN+set}" ]; then
    [ -n "$FIBERBNN_LAB_TOKEN" ] ||
      die "FIBERBNN_LAB_TOKEN is set but empty: JupyterLab never runs without a token; unset it to get a random one"
    printf '%s' "$FIBERBNN_LAB_TOKEN"
  else
    python3 -c 'import secrets; print(secrets.token_urlsafe(24), end="")'
  fi
}

copy_tutorials() {
  mkdir -p "$WORK" 2>/dev/null || true
  if [ ! -w "$WORK" ]; then
    say "WARNING: $WORK is not writable by uid $(id -u): notebooks cannot be saved there."
    say "         The image runs as uid $(id -u); give the mounted folder to that uid, or rebuild with"
    say "         --build-arg USER_UID=\$(id -u) (see docker/README.md)."
    return
  fi
  if [ ! -e "$WORK/tutorials" ]; then
    mkdir -p "$WORK/tutorials"
    cp "$ROOT"/notebooks/*.ipynb "$ROOT/notebooks/README.md" "$WORK/tutorials/"
    say "copied the tutorial notebooks into $WORK/tutorials"
  fi
}

cmd="${1:-lab}"
[ $# -gt 0 ] && shift
case "$cmd" in
  lab)
    token="$(lab_token)"
    choose_backend
    copy_tutorials
    port="${FIBERBNN_LAB_PORT:-8888}"
    echo "$port" > "$PORT_FILE"
    say "JupyterLab listens on port $port in the container; publish it with -p $port:$port (or -p HOSTPORT:$port)"
    exec env FIBERBNN_LAB_TOKEN="$token" FIBERBNN_LAB_IP=0.0.0.0 FIBERBNN_LAB_DIR="$WORK" FIBERBNN_LAB_PORT="$port" \
      "${FIBERBNN_LAB_CMD:-$ROOT/scripts/lab.sh}"
    ;;
  test)
    choose_backend
    cd "$ROOT"
    exec make test "$@"
    ;;
  doctor)
    choose_backend
    exec "$ROOT/bin/fiberkernel" doctor "$@"
    ;;
  *)
    exec "$cmd" "$@"
    ;;
esac
