#!/usr/bin/env bash
# A real build of the CPU image without a Docker engine (run by `make docker-check`; not part of `make test`).
#
# Where no Docker daemon runs and no registry can be pulled, it builds docker/Dockerfile with buildah (chroot
# isolation, vfs storage, no daemon), from
#   - a Debian 12 base made here with debootstrap (--variant=minbase, as Docker's official debian images are),
#     imported as localhost/fiberbnn-base:bookworm and passed as BASE_IMAGE (the pinned digest names the
#     registry's image, which cannot be pulled here);
#   - this machine's Go toolchain, packed into the context's toolchain/ as GO_TARBALL with its own sha256 as
#     GO_SHA256 (go.dev is not reachable here; it must be the pinned Go version);
#   - this machine's CA bundle (/etc/ssl/certs/ca-certificates.crt) as BUILD_CA, for networks whose HTTPS goes
#     through a TLS-intercepting proxy (it is used by the build's downloads only, not copied into the image);
#   - everything else exactly as in a normal build (Debian's mirror, PyPI, the Go module proxy).
# Then it runs `doctor` in the built image, prints the image size and the time taken.
#
# Needs root, buildah and debootstrap (apt-get install buildah debootstrap), and about 20 GB of disk (vfs
# copies every layer). Environment: FIBERBNN_CHECK_DIR (work folder, default build/docker-check),
# RUN_NOTEBOOKS (default 1), BUILDAH_STORAGE_DRIVER (default vfs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
. "$ROOT/docker/versions.env"
WORK="${FIBERBNN_CHECK_DIR:-$ROOT/build/docker-check}"
BASE=localhost/fiberbnn-base:bookworm
IMAGE=localhost/fiberbnn:cpu-check
say() { printf 'docker-check: %s\n' "$*"; }
die() { printf 'docker-check: ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (buildah with chroot isolation and vfs storage, debootstrap)"
for c in buildah debootstrap go; do
  command -v "$c" >/dev/null || die "$c is missing (Debian: apt-get install buildah debootstrap)"
done
export STORAGE_DRIVER="${BUILDAH_STORAGE_DRIVER:-vfs}" BUILDAH_ISOLATION=chroot
mkdir -p "$WORK"
start=$(date +%s)

# 1. Base image: debootstrap once, import as a one-layer image.
if buildah inspect --type image "$BASE" >/dev/null 2>&1; then
  say "base image $BASE already there"
else
  say "debootstrap bookworm (minbase) ..."
  rm -rf "$WORK/rootfs"
  debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 ||
    die "debootstrap failed: see $WORK/debootstrap.log"
  # As in Docker's debian images: security updates on, no recommends, no apt caches.
  cat >"$WORK/rootfs/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
  ctr="$(buildah from scratch)"
  mnt="$(buildah mount "$ctr")"
  tar -C "$WORK/rootfs" -cf - . | tar -C "$mnt" -xf -
  buildah umount "$ctr" >/dev/null
  buildah config --cmd bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  buildah commit --rm "$ctr" "$BASE" >/dev/null
  rm -rf "$WORK/rootfs"
  say "base image $BASE committed"
fi

# 2. Go: this machine's toolchain as a tarball shaped like the official one (go/...).
goroot="$(go env GOROOT)"
gover="$(go env GOVERSION)"
[ "$gover" = "go$GO_VERSION" ] || die "this machine has $gover; the image pins go$GO_VERSION"
tarball="$WORK/go$GO_VERSION.linux-amd64.local.tar.gz"
if [ ! -f "$tarball" ]; then
  say "packing $goroot ($gover) into $tarball"
  tar -C "$(dirname "$goroot")" -czf "$tarball.tmp" "$(basename "$goroot")"
  mv "$tarball.tmp" "$tarball"
fi
[ "$(basename "$goroot")" = go ] || die "GOROOT $goroot is not named go/: the tarball would not look like Go's"
gosum="$(sha256sum "$tarball" | awk '{print $1}')"

# 3. Context and build.
ca=/etc/ssl/certs/ca-certificates.crt
[ -s "$ca" ] || die "no CA bundle at $ca"
GO_TARBALL="$tarball" BUILD_CA_BUNDLE="$ca" "$ROOT/docker/context.sh" "$WORK/context"
# --format docker: the OCI format has no HEALTHCHECK (Buildah drops it with a warning).
say "buildah bud (isolation chroot, storage $STORAGE_DRIVER) ..."
bstart=$(date +%s)
buildah bud --isolation chroot --pull=never --layers=false --format docker \
  --build-arg BASE_IMAGE="$BASE" \
  --build-arg GO_TARBALL="$(basename "$tarball")" --build-arg GO_SHA256="$gosum" --build-arg BUILD_CA=build-ca.pem \
  --build-arg RUN_NOTEBOOKS="${RUN_NOTEBOOKS:-1}" \
  -f "$WORK/context/fiberbnn/docker/Dockerfile" -t "$IMAGE" "$WORK/context" 2>&1 | tee "$WORK/build.log"
bend=$(date +%s)

# 4. The built image: its size, and doctor inside it.
size="$(buildah images --format '{{.Size}}' "$IMAGE" | head -n 1)"
say "built $IMAGE in $((bend - bstart)) s; size $size"
ctr="$(buildah from "$IMAGE")"
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah run --isolation chroot "$ctr" -- /usr/bin/tini -s -- /opt/fiberbnn/fiberbnn/docker/entrypoint.sh doctor | tee "$WORK/doctor.log"
say "done in $(($(date +%s) - start)) s: image $IMAGE, $size (logs in $WORK)"
