#!/usr/bin/env bash
# Stages the Docker build context of the fiberbnn image (run by `make docker-context`):
#
#   DIR/fiberbnn/     this checkout: files git tracks plus untracked ones it does not ignore (so no .venv/, bin/,
#                     build/, .git/); without git, a copy that leaves those out
#   DIR/shared/data/  the reference data: $FIBERBNN_DATA, else ../shared/data beside the checkout (CI's layout)
#   DIR/local/        build-time inputs that never enter the image: the Go tarball named by $GO_TARBALL (offline
#                     builds), the CA bundle named by $BUILD_CA_BUNDLE (a TLS-intercepting proxy), or nothing
#
# The layout mirrors CI's (shared/ beside the checkout), so inside the image the project finds its data where it
# always does. Usage: docker/context.sh [DIR]   (default DIR: build/docker-context in the checkout).
# DIR is rebuilt from scratch each time, through a temporary directory and a rename.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/build/docker-context}"
say() { printf 'docker-context: %s\n' "$*"; }
die() { printf 'docker-context: ERROR: %s\n' "$*" >&2; exit 1; }

DATA="${FIBERBNN_DATA:-$ROOT/../shared/data}"
[ -d "$DATA" ] || die "no reference data at $DATA: set FIBERBNN_DATA to the data directory (see README.md, Data)"
DATA="$(cd "$DATA" && pwd)"
for f in GO_TARBALL BUILD_CA_BUNDLE; do
  if [ -n "${!f:-}" ] && [ ! -f "${!f}" ]; then die "$f=${!f} does not exist"; fi
done

mkdir -p "$(dirname "$OUT")"
TMP="$(mktemp -d "$OUT.tmp-XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/fiberbnn" "$TMP/shared" "$TMP/local"

if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked files (minus deleted ones) and untracked files that .gitignore does not exclude.
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -xf - -C "$TMP/fiberbnn"
  how="git ls-files"
else
  tar -C "$ROOT" --exclude=./.git --exclude=./.venv --exclude=./bin --exclude=./build --exclude=./.cache \
    --exclude=./notebooks/_out -cf - . | tar -xf - -C "$TMP/fiberbnn"
  how="a copy without .git, .venv, bin, build, .cache, notebooks/_out"
fi
[ -f "$TMP/fiberbnn/go.mod" ] || die "staging $ROOT gave no go.mod"
cp -rL "$DATA" "$TMP/shared/data"
touch "$TMP/local/.keep" # the Dockerfile bind-mounts this folder: it must exist, even empty
args=""
if [ -n "${GO_TARBALL:-}" ]; then
  cp "$GO_TARBALL" "$TMP/local/"
  args+=" --build-arg GO_TARBALL=$(basename "$GO_TARBALL")"
fi
if [ -n "${BUILD_CA_BUNDLE:-}" ]; then
  cp "$BUILD_CA_BUNDLE" "$TMP/local/build-ca.pem"
  args+=" --build-arg BUILD_CA=build-ca.pem"
fi

rm -rf "$OUT"
mv "$TMP" "$OUT"
trap - EXIT
say "staged $OUT ($(du -sh "$OUT" | cut -f1)):"
say "  fiberbnn/     $(find "$OUT/fiberbnn" -type f | wc -l) files ($how)"
say "  shared/data/  from $DATA"
say "  local/        $(cd "$OUT/local" && ls | tr '\n' ' ')(build-time only)"
say "build:  docker build -f $OUT/fiberbnn/docker/Dockerfile$args -t fiberbnn:cpu $OUT"
