#!/usr/bin/env bash
# Re-pins the Python side (JupyterLab, nbclient, nbconvert and all their dependencies) with hashes:
# kernel/requirements.in -> kernel/requirements.txt. Run after editing requirements.in; commit both.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
python3 -m venv "$TMP/v"
"$TMP/v/bin/pip" install -q --disable-pip-version-check pip-tools==7.6.2
cd "$ROOT/kernel"
PIP_FIND_LINKS= "$TMP/v/bin/pip-compile" -q --allow-unsafe --generate-hashes --strip-extras --no-emit-find-links \
  --output-file=requirements.txt requirements.in
sed -i 's|^#    pip-compile .*|#    scripts/pin-python.sh  (pip-compile --allow-unsafe --generate-hashes --strip-extras kernel/requirements.in)|' requirements.txt
echo "pinned: kernel/requirements.txt"
