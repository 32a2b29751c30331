#!/usr/bin/env bash
# Starts JupyterLab from the project's venv on 127.0.0.1, with a token, opened on notebooks/.
#   FIBERBNN_LAB_PORT   port (default 8888; the next free one is taken if busy)
#   FIBERBNN_LAB_TOKEN  token (default: a fresh random one); it can not be empty
#   FIBERBNN_LAB_IP     address to listen on (default 127.0.0.1; the Docker image sets 0.0.0.0, inside its container)
#   FIBERBNN_LAB_DIR    folder JupyterLab opens (default notebooks/ of the checkout)
# Jupyter's own state (settings, workspaces, runtime files) stays in .venv/.
# The token reaches Jupyter through the environment (JUPYTER_TOKEN), not the command line, where every user
# of the machine could read it (ps, /proc/PID/cmdline); it is printed once, to this terminal only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
[ -x "$VENV/bin/python" ] || { echo "lab: no .venv: run make setup" >&2; exit 1; }
if [ "${FIBERBNN_LAB_TOKEN+set}" = set ] && [ -z "$FIBERBNN_LAB_TOKEN" ]; then
  echo "lab: FIBERBNN_LAB_TOKEN is empty: JupyterLab never runs without a token; unset it to get a random one" >&2
  exit 1
fi
TOKEN="${FIBERBNN_LAB_TOKEN:-$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(24))')}"
PORT="${FIBERBNN_LAB_PORT:-8888}"
IP="${FIBERBNN_LAB_IP:-127.0.0.1}"
NBDIR="${FIBERBNN_LAB_DIR:-$ROOT/notebooks}"
export JUPYTER_CONFIG_DIR="$VENV/etc/jupyter-user"
export JUPYTER_DATA_DIR="${JUPYTER_DATA_DIR:-$VENV/share/jupyter}"
export JUPYTERLAB_SETTINGS_DIR="$VENV/etc/jupyterlab-user/settings"
export JUPYTERLAB_WORKSPACES_DIR="$VENV/etc/jupyterlab-user/workspaces"
OPEN=True
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "$(uname -s)" != Darwin ]; then
  OPEN=False # no desktop: print the URL only
fi
EXTRA=()
if [ "$(id -u)" = 0 ]; then
  EXTRA=(--allow-root) # containers and CI machines run as root; the server still listens on $IP only
fi
case "$IP" in
  127.0.0.1|localhost|::1) ;;
  *) [ -f /.dockerenv ] || [ -f /run/.containerenv ] || echo "lab: WARNING: listening on $IP, not 127.0.0.1: whoever can reach this port and knows the token can run code as $(id -un)" >&2 ;;
esac
export JUPYTER_TOKEN="$TOKEN"
unset JUPYTER_TOKEN_FILE
echo "lab: JupyterLab on http://127.0.0.1:$PORT/lab?token=$TOKEN  (Ctrl-C to stop)"
echo "lab: pick the kernel \"Go (fiberlib)\" for new notebooks; backend: $("$ROOT/bin/fiberkernel" doctor 2>/dev/null | sed -n 's/^backend: //p')"
cd "$NBDIR"
exec "$VENV/bin/python" -m jupyter lab --ip="$IP" --port="$PORT" --ServerApp.open_browser="$OPEN" "${EXTRA[@]}" \
  --ServerApp.root_dir="$NBDIR" \
  --MappingKernelManager.default_kernel_name=fiberbnn
