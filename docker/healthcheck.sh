#!/usr/bin/env bash
# HEALTHCHECK of the fiberbnn image: when the container serves JupyterLab (docker/entrypoint.sh wrote the port
# file), healthy means the server answers on that port (GET /api, which needs no token). Containers started
# for another command (test, doctor, bash) serve nothing and are reported healthy.
set -euo pipefail
PORT_FILE="${FIBERBNN_LAB_PORT_FILE:-/tmp/fiberbnn-lab.port}"
[ -f "$PORT_FILE" ] || exit 0
port="$(cat "$PORT_FILE")"
exec python3 - "$port" <<'PY'
import json, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an HTTP proxy
with opener.open(f"http://127.0.0.1:{sys.argv[1]}/api", timeout=4) as r:
    version = json.load(r).get("version", "?")
print(f"jupyter server {version} answers on port {sys.argv[1]}")
PY
