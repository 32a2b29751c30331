#!/usr/bin/env bash
# The install recipe of the fiberbnn Docker image, in one script. docker/Dockerfile runs its steps; `make test`
# runs `docker/install.sh check` on the host, so the recipe is exercised even where no Docker engine exists.
# Every version comes from docker/versions.env (checked against the project's own pins by docker/pins_test.go).
#
#   install.sh root      image build, as root: Debian packages, the user, /opt/fiberbnn, then `go`
#   install.sh go        the pinned Go into $GO_PREFIX/go (default /usr/local/go): from $GO_TARBALL when set
#                        (offline builds), else downloaded from go.dev; sha256-checked, then `go version`-checked
#   install.sh cuda      image build, as the user, when FIBERBNN_CUDA is 13 or 12 (else nothing): JAX's CUDA
#                        PJRT plugin and its NVIDIA libraries (docker/cudaNN-requirements.txt, with hashes)
#   install.sh project   image build, as the user: scripts/setup.sh (the project's own set-up), `verify`, then
#                        every notebook once, headless (proves the image works and warms Go's build cache)
#   install.sh verify    checks that what the set-up installed is exactly what versions.env pins
#   install.sh check     host (make test), nothing that needs root or a big download: Debian package names known
#                        to apt, $GO_TARBALL's sha256 when given, then `verify` (the host's own Go may differ); the
#                        root and CUDA steps are skipped with a message. Checks what `make setup` installed.
#
# Environment: GO_TARBALL (a local Go tarball), GO_SHA256 (overrides the pinned sha256, for a toolchain you
# packed yourself), GO_PREFIX, FIBERBNN_CUDA (13, 12 or empty), FIBERBNN_CUDA_DIR (default /opt/fiberbnn/cuda),
# FIBERBNN_USER_UID (default 1000), RUN_NOTEBOOKS (default 1), FIBERBNN_ROOT (the checkout), FIBERBNN_BUILD_CA
# (a PEM bundle every download of this run trusts instead of the system's: builds behind a TLS-intercepting proxy).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$HERE/versions.env"
# The checkout: the parent of docker/ when this script sits in one (not for the early copy in /opt/fiberbnn/recipe).
ROOT="${FIBERBNN_ROOT:-$(cd "$HERE/.." && pwd)}"
CUDA_DIR="${FIBERBNN_CUDA_DIR:-/opt/fiberbnn/cuda}"
USER_UID="${FIBERBNN_USER_UID:-1000}"

say() { printf 'docker-recipe: %s\n' "$*"; }
die() { printf 'docker-recipe: ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

if [ -n "${FIBERBNN_BUILD_CA:-}" ]; then
  [ -s "$FIBERBNN_BUILD_CA" ] || die "FIBERBNN_BUILD_CA=$FIBERBNN_BUILD_CA is not a file"
  # curl, pip (and the requests it vendors), Python's ssl, Go's crypto/x509, git.
  export SSL_CERT_FILE="$FIBERBNN_BUILD_CA" CURL_CA_BUNDLE="$FIBERBNN_BUILD_CA" PIP_CERT="$FIBERBNN_BUILD_CA" \
    REQUESTS_CA_BUNDLE="$FIBERBNN_BUILD_CA" GIT_SSL_CAINFO="$FIBERBNN_BUILD_CA"
fi
sha256_of() { sha256sum "$1" | awk '{print $1}'; }

# --- root: Debian packages, user, directories ---------------------------------------------------------------
step_root() {
  is_root || die "\`install.sh root\` installs Debian packages and creates the image's user: it runs as root, in the image build only"
  command -v apt-get >/dev/null || die "apt-get not found: the image recipe needs a Debian base image (BASE_IMAGE)"
  say "apt-get install $DEBIAN_PACKAGES"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086 # a word list on purpose
  apt-get install -y -qq --no-install-recommends $DEBIAN_PACKAGES >/dev/null
  apt-get clean
  rm -rf /var/lib/apt/lists/*
  if ! getent passwd "$IMAGE_USER" >/dev/null; then
    say "creating user $IMAGE_USER (uid $USER_UID)"
    getent group "$USER_UID" >/dev/null || groupadd --gid "$USER_UID" "$IMAGE_USER"
    useradd --uid "$USER_UID" --gid "$USER_UID" --create-home --shell /bin/bash "$IMAGE_USER"
  fi
  local home
  home="$(getent passwd "$IMAGE_USER" | cut -d: -f6)"
  mkdir -p /opt/fiberbnn/cache /opt/fiberbnn/shared "$home/work"
  chown "$USER_UID:$USER_UID" /opt/fiberbnn /opt/fiberbnn/cache "$home/work"
  step_go
}

# --- go: the pinned toolchain ---------------------------------------------------------------------------------
step_go() {
  local prefix="${GO_PREFIX:-/usr/local}" want="go$GO_VERSION"
  local sum="${GO_SHA256:-$GO_LINUX_AMD64_SHA256}" name="go$GO_VERSION.linux-amd64.tar.gz"
  local arch
  arch="$(uname -m)"
  [ "$arch" = x86_64 ] || die "the image is linux/amd64 only (the PJRT CPU plugin wheel is); this is $arch"
  if [ -z "${GO_TARBALL:-}" ] && [ -x "$prefix/go/bin/go" ] &&
    [ "$(GOTOOLCHAIN=local "$prefix/go/bin/go" env GOVERSION 2>/dev/null)" = "$want" ]; then
    say "Go $GO_VERSION already in $prefix/go"
    return
  fi
  mkdir -p "$prefix"
  local tmp
  tmp="$(mktemp -d "$prefix/.go.tmp-XXXXXX")"
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp'" EXIT
  local tarball="${GO_TARBALL:-}"
  if [ -z "$tarball" ]; then
    say "downloading $GO_URL_BASE/$name"
    curl -fsSL --retry 3 -o "$tmp/$name" "$GO_URL_BASE/$name" ||
      die "downloading $GO_URL_BASE/$name failed: check the network, or build offline with GO_TARBALL (see docker/README.md)"
    tarball="$tmp/$name"
  fi
  [ -f "$tarball" ] || die "GO_TARBALL=$tarball does not exist"
  local got
  got="$(sha256_of "$tarball")"
  [ "$got" = "$sum" ] ||
    die "$tarball has sha256 $got, want $sum (Go $GO_VERSION, linux/amd64): a corrupt download or another file; fetch $GO_URL_BASE/$name again, or set GO_SHA256 for a toolchain you packed yourself"
  say "sha256 of $(basename "$tarball") verified ($sum)"
  tar -xzf "$tarball" -C "$tmp"
  [ -x "$tmp/go/bin/go" ] || die "$tarball holds no go/bin/go"
  local ver
  ver="$(GOTOOLCHAIN=local "$tmp/go/bin/go" version)" || die "$tmp/go/bin/go does not run"
  case "$ver" in
    "go version $want linux/amd64"*) ;;
    *) die "$tarball holds \"$ver\", want $want linux/amd64" ;;
  esac
  rm -rf "$prefix/go.old"
  [ -e "$prefix/go" ] && mv "$prefix/go" "$prefix/go.old"
  mv "$tmp/go" "$prefix/go"
  rm -rf "$prefix/go.old" "$tmp"
  trap - EXIT
  say "installed $ver into $prefix/go"
}

# --- cuda: JAX's CUDA PJRT plugin (GPU image only) -------------------------------------------------------------
cuda_plugin_path() { # prints the plugin path inside $CUDA_DIR, or nothing
  local f="$CUDA_DIR/jax_plugins/xla_cuda${FIBERBNN_CUDA}/xla_cuda_plugin.so"
  if [ -f "$f" ]; then echo "$f"; fi
}

step_cuda() {
  if [ -z "${FIBERBNN_CUDA:-}" ]; then
    say "CPU image (FIBERBNN_CUDA not set): no CUDA plugin"
    return
  fi
  case "$FIBERBNN_CUDA" in 13 | 12) ;; *) die "FIBERBNN_CUDA=$FIBERBNN_CUDA: want 13 or 12 (or empty for the CPU image)" ;; esac
  local req="$HERE/cuda${FIBERBNN_CUDA}-requirements.txt"
  [ -f "$req" ] || die "$req is missing"
  local stamp
  stamp="$(sha256_of "$req")"
  if [ -f "$CUDA_DIR/.fiberbnn-stamp" ] && [ "$(cat "$CUDA_DIR/.fiberbnn-stamp")" = "$stamp" ] && [ -n "$(cuda_plugin_path)" ]; then
    say "CUDA $FIBERBNN_CUDA plugin up to date in $CUDA_DIR"
    return
  fi
  say "installing jax-cuda${FIBERBNN_CUDA}-pjrt==$CUDA_PJRT_VERSION and its NVIDIA libraries (pinned with hashes) into $CUDA_DIR ..."
  # One flat directory (pip --target): the plugin finds the NVIDIA libraries through its RPATH
  # ($ORIGIN/../../nvidia/*/lib), and nothing here is imported by Python. pip runs from a throwaway venv.
  local pipvenv
  pipvenv="$(mktemp -d)"
  python3 -m venv "$pipvenv"
  rm -rf "$CUDA_DIR"
  mkdir -p "$CUDA_DIR"
  "$pipvenv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir --require-hashes --no-deps \
    --only-binary=:all: --target "$CUDA_DIR" -r "$req" || die "pip install -r $req failed (see above)"
  rm -rf "$pipvenv"
  local plugin
  plugin="$(cuda_plugin_path)"
  [ -n "$plugin" ] || die "no jax_plugins/xla_cuda${FIBERBNN_CUDA}/xla_cuda_plugin.so in $CUDA_DIR after the install"
  echo "$stamp" > "$CUDA_DIR/.fiberbnn-stamp"
  say "CUDA plugin: $plugin"
}

# --- verify: what the set-up installed equals versions.env ---------------------------------------------------
vfail=0
vcheck() { # vcheck WHAT WANT GOT
  if [ "$2" = "$3" ]; then
    say "ok    $1 $3"
  else
    say "FAIL  $1: installed ${3:-nothing}, versions.env pins $2"
    vfail=1
  fi
}

modversion() { # modversion BINARY MODULE: the module's version recorded in a Go binary
  go version -m "$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m {print $3}'
}

step_verify() { # step_verify strict|host
  local mode="${1:-strict}" gover
  cd "$ROOT"
  gover="$(go env GOVERSION)"
  if [ "$mode" = strict ]; then
    vcheck "go" "go$GO_VERSION" "$gover"
  elif [ "$gover" != "go$GO_VERSION" ]; then
    say "note  go: this host has $gover; the image installs go$GO_VERSION"
  else
    say "ok    go $gover"
  fi
  vcheck "module github.com/gomlx/gomlx" "$GOMLX_VERSION" "$(go list -m -f '{{.Version}}' github.com/gomlx/gomlx)"
  vcheck "module github.com/gomlx/compute" "$GOMLX_COMPUTE_VERSION" "$(go list -m -f '{{.Version}}' github.com/gomlx/compute)"
  vcheck "bin/gonb (github.com/janpfeifer/gonb)" "$GONB_VERSION" "$(modversion bin/gonb github.com/janpfeifer/gonb)"
  vcheck "bin/goimports (golang.org/x/tools)" "$GOIMPORTS_X_TOOLS_VERSION" "$(modversion bin/goimports golang.org/x/tools)"
  local py='import importlib.metadata as m, sys; print(m.version(sys.argv[1]))'
  vcheck "jupyterlab" "$JUPYTERLAB_VERSION" "$(.venv/bin/python -c "$py" jupyterlab 2>/dev/null || true)"
  vcheck "nbclient" "$NBCLIENT_VERSION" "$(.venv/bin/python -c "$py" nbclient 2>/dev/null || true)"
  vcheck "nbconvert" "$NBCONVERT_VERSION" "$(.venv/bin/python -c "$py" nbconvert 2>/dev/null || true)"
  local home="${FIBERBNN_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/fiberbnn}"
  local stamp="$home/pjrt/pjrt_c_api_cpu_plugin.so.stamp.json" field='import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])'
  vcheck "PJRT CPU wheel ($PJRT_CPU_WHEEL==$PJRT_CPU_VERSION) sha256" "$PJRT_CPU_WHEEL_SHA256" "$(python3 -c "$field" "$stamp" wheel_sha256 2>/dev/null || true)"
  vcheck "PJRT CPU plugin sha256" "$PJRT_CPU_PLUGIN_SHA256" "$(python3 -c "$field" "$stamp" plugin_sha256 2>/dev/null || true)"
  if [ -n "${FIBERBNN_CUDA:-}" ]; then
    local plugin
    plugin="$(cuda_plugin_path)"
    vcheck "jax-cuda${FIBERBNN_CUDA}-pjrt" "$CUDA_PJRT_VERSION" "$(PYTHONPATH="$CUDA_DIR" python3 -c "$py" "jax-cuda${FIBERBNN_CUDA}-pjrt" 2>/dev/null || true)"
    if [ -n "$plugin" ] && bin/fiberkernel pjrt check "$plugin" >/dev/null; then
      say "ok    CUDA plugin $plugin exports GetPjrtApi"
    else
      say "FAIL  CUDA plugin ${plugin:-(missing)} is not a PJRT plugin"
      vfail=1
    fi
  fi
  if bin/fiberkernel doctor >/dev/null 2>&1; then
    say "ok    fiberkernel doctor"
  else
    say "FAIL  fiberkernel doctor (run bin/fiberkernel doctor to see why)"
    vfail=1
  fi
  [ "$vfail" = 0 ] || die "the set-up does not match docker/versions.env (see the FAIL lines above; make setup installs it)"
}

# --- project: the project's own set-up, checked, then the notebooks once ------------------------------------
step_project() {
  is_root && die "\`install.sh project\` runs as the image's user, not root"
  cd "$ROOT"
  scripts/setup.sh
  step_verify strict
  if [ "${RUN_NOTEBOOKS:-1}" = 1 ]; then
    local out
    out="$(mktemp -d)"
    say "running every notebook once, headless (checks the image; warms Go's build cache) ..."
    bin/fiberkernel run --out "$out"
    rm -rf "$out"
  fi
}

# --- check: the host's share of the recipe (make test) --------------------------------------------------------
step_check() {
  local known=0 missing=()
  say "host check of the image recipe: the root-only step (apt-get install, useradd) runs in the image build only"
  if command -v apt-cache >/dev/null; then
    # One apt-cache call (it is slow to start): the packages that have an installation candidate.
    local have
    # shellcheck disable=SC2086 # a word list on purpose
    have="$(apt-cache policy $DEBIAN_PACKAGES 2>/dev/null | awk '/^[^ ].*:$/ {p = substr($0, 1, length($0) - 1)} /^  Candidate:/ && $2 != "(none)" {print p}')"
    for p in $DEBIAN_PACKAGES; do
      if grep -qxF "$p" <<<"$have"; then known=$((known + 1)); else missing+=("$p"); fi
    done
    if [ "$known" = 0 ]; then
      say "skip  Debian package names: apt knows none of them here (no package lists: apt-get update, as root)"
    elif [ "${#missing[@]}" -gt 0 ]; then
      die "Debian packages without an installation candidate: ${missing[*]} (DEBIAN_PACKAGES in docker/versions.env)"
    else
      say "ok    Debian packages known to apt: $DEBIAN_PACKAGES"
    fi
  else
    say "skip  Debian package names: no apt-cache (not a Debian host)"
  fi
  if [ -n "${GO_TARBALL:-}" ]; then
    local got
    got="$(sha256_of "$GO_TARBALL")"
    [ "$got" = "${GO_SHA256:-$GO_LINUX_AMD64_SHA256}" ] || die "GO_TARBALL=$GO_TARBALL has sha256 $got, want ${GO_SHA256:-$GO_LINUX_AMD64_SHA256}"
    say "ok    GO_TARBALL sha256"
  else
    say "skip  Go tarball download (the image build fetches $GO_URL_BASE/go$GO_VERSION.linux-amd64.tar.gz; GO_TARBALL=FILE checks a local copy)"
  fi
  say "skip  CUDA plugin install (GPU image only, several GB; docker/pins_test.go checks its pins)"
  step_verify host
  say "image recipe: ok"
}

case "${1:-}" in
  root) step_root ;;
  go) step_go ;;
  cuda) step_cuda ;;
  project) step_project ;;
  verify) step_verify strict ;;
  check) step_check ;;
  *)
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
