#!/usr/bin/env bash
# Re-pins the CUDA side of the GPU image: docker/cudaNN-requirements.txt (NN = 13 and 12), exact versions with
# sha256 hashes, for JAX's CUDA PJRT plugin at CUDA_PJRT_VERSION (docker/versions.env) and the NVIDIA libraries
# it needs. Run after changing CUDA_PJRT_VERSION; commit the results. Needs PyPI; downloads no wheel.
#
# GoMLX only needs the plugin's shared library (jax-cudaNN-pjrt: jax_plugins/xla_cudaNN/xla_cuda_plugin.so) and
# the NVIDIA libraries it loads through its RPATH (site-packages/nvidia/...). Those libraries are the
# requirements of jax-cudaNN-plugin[with-cuda] at the same version; that wheel itself holds Python code only and
# is built for CPython >= 3.12, so it is not installed. This script asks pip which wheels that install would
# take (a dry run resolved for Python 3.12 on linux x86-64, from the metadata PyPI serves beside each wheel),
# and writes each chosen wheel as name==version with the sha256 of that file (all are py3-none wheels, so the
# image's Python 3.11 picks the same files). The image is linux/amd64 only: other platforms' files are not pinned.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
. "$ROOT/docker/versions.env"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
python3 -m venv "$TMP/v"
# pip >= 22.3 resolves from the metadata files (PEP 658) instead of downloading the NVIDIA wheels (gigabytes).
"$TMP/v/bin/pip" install -q --disable-pip-version-check pip==26.3
for cu in 13 12; do
  PIP_FIND_LINKS= "$TMP/v/bin/pip" install -q --disable-pip-version-check --dry-run --ignore-installed \
    --only-binary=:all: --python-version 3.12 --target "$TMP/none" --report "$TMP/report$cu.json" \
    "jax-cuda${cu}-plugin[with-cuda]==${CUDA_PJRT_VERSION}"
  out="$ROOT/docker/cuda${cu}-requirements.txt"
  "$TMP/v/bin/python" - "$TMP/report$cu.json" "$cu" "$CUDA_PJRT_VERSION" > "$out.tmp" <<'PY'
import json, sys
report, cu, version = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
print(f"# JAX's CUDA {cu} PJRT plugin {version} and the NVIDIA libraries of jax-cuda{cu}-plugin[with-cuda]=={version},")
print("# exact versions, each with the sha256 of its linux x86-64 wheel. Written by docker/pin-cuda.sh (do not edit:")
print("# change CUDA_PJRT_VERSION in docker/versions.env and rerun it); installed by docker/install.sh (FIBERBNN_CUDA=" + cu + ").")
for item in sorted(report["install"], key=lambda i: i["metadata"]["name"]):
    name, ver = item["metadata"]["name"], item["metadata"]["version"]
    if name == f"jax-cuda{cu}-plugin":
        continue  # Python bindings only (CPython >= 3.12); GoMLX loads the PJRT plugin directly
    info = item["download_info"]
    algo, _, digest = info["archive_info"]["hash"].partition("=")
    assert algo == "sha256" and len(digest) == 64, (name, info)
    wheel = info["url"].rsplit("/", 1)[-1]
    assert "-py3-none-" in wheel and "x86_64" in wheel, wheel
    print(f"{name}=={ver} --hash=sha256:{digest}  # {wheel}")
PY
  mv "$out.tmp" "$out"
  echo "pinned: docker/cuda${cu}-requirements.txt ($(grep -c -- '--hash' "$out") wheels)"
done
