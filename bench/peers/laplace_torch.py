"""laplace-torch on the problem of fiberlib/laplace's BenchmarkPeerLaplace (same network, MAP, data, test set).

Reads the folder FIBERBNN_PEERS_LAPLACE_DIR (or --dir) that the Go benchmark writes: meta.json and raw
float32 arrays xtrain [n, d], ytrain [n], xtest [m, d], theta [P] (fiberlib/nets layout: per layer the
weights [in, out] row-major, then the bias). For each variant (subset_of_weights/hessian_structure) it times,
after one warm-up run of each phase:

  fit       Laplace(...).fit(train_loader)               (curvature on the training set; α kept, as Go's TuneNone)
  pred_glm  la(xtest, pred_type="glm")                   (linearised predictive: mean and variance)
  pred_nn   la(xtest, pred_type="nn", link_approx="mc", n_samples=100)   (100 parameter samples)

One JSON line per (variant, phase, round). The training loader has batches of 512 (--batch; 0 is one full
batch, which ran out of the machine's 24 GB for all/diag: 20 GB resident when killed). Threads: PyTorch's
default (one per core).
"""

import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from laplace import Laplace

VARIANTS = [("last_layer", "kron"), ("last_layer", "full"), ("all", "diag"), ("all", "kron")]


def load(dirname):
    meta = json.load(open(os.path.join(dirname, "meta.json")))
    rd = lambda name: np.fromfile(os.path.join(dirname, name), dtype="<f4")
    n, m, d = meta["n"], meta["m"], meta["d"]
    x, y = rd("xtrain").reshape(n, d), rd("ytrain").reshape(n, 1)
    xt, theta = rd("xtest").reshape(m, d), rd("theta")
    sizes = [d] + list(meta["hidden"]) + [1]
    layers, off = [], 0
    for i in range(len(sizes) - 1):
        a, b = sizes[i], sizes[i + 1]
        lin = nn.Linear(a, b)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(theta[off:off + a * b].reshape(a, b).T.copy()))
            off += a * b
            lin.bias.copy_(torch.from_numpy(theta[off:off + b].copy()))
            off += b
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    assert off == theta.size, (off, theta.size)
    model = nn.Sequential(*layers).float()
    return meta, model, torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(xt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=os.environ.get("FIBERBNN_PEERS_LAPLACE_DIR", ""))
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--variants", default=",".join(f"{a}/{b}" for a, b in VARIANTS))
    ap.add_argument("--batch", type=int, default=512, help="training batch size for fit (0: full batch)")
    args = ap.parse_args()
    if not args.dir:
        raise SystemExit("laplace_torch.py: set FIBERBNN_PEERS_LAPLACE_DIR or --dir (written by BenchmarkPeerLaplace)")
    meta, model, x, y, xt = load(args.dir)
    model.eval()
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch or len(x))
    with torch.no_grad():
        mse = float(((model(x) - y) ** 2).mean())
    for subset, hess in (v.split("/") for v in args.variants.split(",")):
        def fit():
            la = Laplace(model, "regression", subset_of_weights=subset, hessian_structure=hess,
                         sigma_noise=meta["sigma"], prior_precision=meta["alpha"])
            la.fit(loader)
            return la

        la = fit()  # warm-up
        phases = {
            "fit": fit,
            "pred_glm": lambda: la(xt, pred_type="glm"),
            "pred_nn": lambda: la(xt, pred_type="nn", link_approx="mc", n_samples=100),
        }
        for phase, f in phases.items():
            if phase != "fit":
                f()  # warm-up
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                out = f()
                if isinstance(out, tuple):
                    out = tuple(o.detach() for o in out)
                el = time.perf_counter() - t0
                print(json.dumps(dict(engine="laplace-torch", variant=f"{subset}/{hess}", phase=phase, seconds=el,
                                      train_mse=mse, torch=torch.__version__, threads=torch.get_num_threads())),
                      flush=True)


if __name__ == "__main__":
    main()
