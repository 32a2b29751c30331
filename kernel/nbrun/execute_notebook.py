"""Execute one notebook headless with nbclient (used by `fiberkernel run`; not meant to be run by hand).

Writes the executed notebook, its HTML rendering (nbconvert), and a JSON summary saying which cell failed and
why. Execution stops at the first failing cell; the outputs produced so far are still written.
Usage: python execute_notebook.py IN.ipynb OUT.ipynb OUT.html SUMMARY.json KERNEL_NAME TIMEOUT_S WORKDIR
"""
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    src, out_nb, out_html, out_summary, kernel, timeout, workdir = sys.argv[1:8]
    nb = nbformat.read(src, as_version=4)
    cells = []
    current = {"index": None}

    def on_start(cell, cell_index, **_):
        current["index"] = cell_index
        current["t0"] = time.monotonic()

    def on_executed(cell, cell_index, execute_reply, **_):
        content = (execute_reply or {}).get("content", {})
        cells.append({
            "index": cell_index,
            "status": content.get("status", "unknown"),
            "seconds": round(time.monotonic() - current.get("t0", time.monotonic()), 3),
        })

    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=int(timeout),
        startup_timeout=120,
        # On a loaded machine the last outputs may trail the reply by seconds: wait for them (default 4 s).
        iopub_timeout=60,
        raise_on_iopub_timeout=True,
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": workdir}},
        on_cell_start=on_start,
        on_cell_executed=on_executed,
    )
    error = None
    t0 = time.monotonic()
    try:
        client.execute()
    except Exception as e:  # CellExecutionError, CellTimeoutError, DeadKernelError, kernel start failures
        error = {"kind": type(e).__name__, "cell": current["index"], "message": str(e)}
    seconds = round(time.monotonic() - t0, 3)

    write_atomic(out_nb, nbformat.writes(nb))
    try:
        body, _ = HTMLExporter().from_notebook_node(nb)
        write_atomic(out_html, body)
    except Exception as e:  # keep the notebook result even if HTML export fails
        if error is None:
            error = {"kind": "HTMLExportError", "cell": None, "message": str(e)}
    write_atomic(out_summary, json.dumps({"error": error, "cells": cells, "seconds": seconds}, indent=1))


if __name__ == "__main__":
    main()
