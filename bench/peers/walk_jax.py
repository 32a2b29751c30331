"""The fiber walk in JAX: the peer of fiberlib/fiber's BenchmarkPeerWalk (peers_bench_test.go).

One step, per particle i (vmapped over the N particles, float32 throughout), exactly as fiberlib/fiber/step.go
under its benchmark settings (ControlBudget, ε growth γ, full batch, no projection, no noise):

    ℓ(θ) = U(θ)/n,  U = Σ_b [(y_b − f(x_b; θ))²/(2σ²) + log σ + ½ log 2π] + α/2‖θ‖² − (P/2) log(α/2π)
    r = ℓ(θ) − ℓ*,  s = clip(1 − r/τ, 0, 1)
    move = ε·s·d − η·∇ℓ(θ),  next = θ + move
    stop (for good) when ℓ, ∇ℓ or next is not finite, or r > DivergeRise
    reject (return to the previous θ, halve ε and η) when r > RejectFactor·τ
    halve a bouncing step (move against the last one, cos < −½, and ‖move‖ > ½ max(ε·s, η‖∇ℓ‖)): θ + move/2
    ε ← ε·(1+γ) after an accepted, unhalved step with r < τ/2

The network is the tanh MLP D → hidden... → 1 of fiberlib/nets, θ laid out layer by layer as weights
[in, out] (row-major) then bias [out]. `steps_per_call` steps run inside one jit-compiled call
(lax.fori_loop), with the state buffers donated; timing waits with block_until_ready.

    python walk_jax.py --cases '50:512:64:1,10,100' --calls 20 --json    # timings, one JSON line per run
    python walk_jax.py --check DIR                                       # same numbers as the Go dump?
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax

D = 8  # inputs of the benchmark data (peerInputs in Go)


def parse_cases(s):
    out = []
    for item in s.split(";"):
        item = item.strip()
        if not item:
            continue
        h, n, N, spc = item.split(":")
        out.append(dict(hidden=[int(v) for v in h.split("x")], n=int(n), N=int(N),
                        spc=[int(v) for v in spc.split(",")]))
    return out


def case_name(c):
    return "mlp%s/n%d/N%d" % ("x".join(str(h) for h in c["hidden"]), c["n"], c["N"])


def layer_sizes(hidden):
    return [D] + list(hidden) + [1]


def num_params(hidden):
    s = layer_sizes(hidden)
    return sum(s[i] * s[i + 1] + s[i + 1] for i in range(len(s) - 1))


def flops_per_particle_step(c):
    s = layer_sizes(c["hidden"])
    return 6.0 * c["n"] * sum(s[i] * s[i + 1] for i in range(len(s) - 1))


def make_walk(hidden, n, sigma, alpha, eta0, eps0, tau, diverge_rise, reject_factor, growth):
    """Returns (init_state, chunk) where chunk(state, consts, steps) runs `steps` steps (static)."""
    sizes = layer_sizes(hidden)
    P = num_params(hidden)
    const_lik = n * (math.log(sigma) + 0.5 * math.log(2 * math.pi))
    const_prior = P / 2 * math.log(alpha / (2 * math.pi))
    f32 = jnp.float32

    def unflatten(theta):
        out, off = [], 0
        for i in range(len(sizes) - 1):
            a, b = sizes[i], sizes[i + 1]
            w = theta[off:off + a * b].reshape(a, b)
            off += a * b
            bias = theta[off:off + b]
            off += b
            out.append((w, bias))
        return out

    def loss(theta, x, y):  # per-datum loss ℓ(θ) of one particle
        h = x
        layers = unflatten(theta)
        for w, bias in layers[:-1]:
            h = jnp.tanh(h @ w + bias)
        w, bias = layers[-1]
        r = (h @ w + bias) - y
        u = jnp.sum(r * r) / (2 * sigma * sigma) + const_lik + alpha / 2 * jnp.sum(theta * theta) - const_prior
        return u / n

    value_and_grad = jax.value_and_grad(loss)

    def step(t, theta, prev, eps, eta, stopped, reason, halv, d, x, y, lstar):
        l, g = value_and_grad(theta, x, y)
        rise = l - lstar
        s = jnp.clip(1 - rise / tau, 0, 1)
        drift_len = eps * s
        grad_len = eta * jnp.linalg.norm(g)
        move = drift_len * d - eta * g
        nxt = theta + move
        walking = stopped < 0
        finite = jnp.isfinite(l) & jnp.isfinite(jnp.sum(g)) & jnp.isfinite(jnp.sum(nxt))
        non_finite = walking & ~finite
        diverged = walking & finite & (rise > diverge_rise)
        stop_now = non_finite | diverged
        stopped = jnp.where(stop_now, t, stopped)
        reason = jnp.where(non_finite, 1, jnp.where(diverged, 2, reason))
        still = walking & ~stop_now
        reject = still & (rise > reject_factor * tau)
        last = theta - prev
        move_norm, last_norm = jnp.linalg.norm(move), jnp.linalg.norm(last)
        back = jnp.dot(move, last) < -0.5 * move_norm * last_norm
        real = move_norm > 0.5 * jnp.maximum(drift_len, grad_len)
        bounce = still & ~reject & back & real
        halve = reject | bounce
        accept = still & ~reject
        taken = jnp.where(bounce, theta + 0.5 * move, nxt)
        new_theta = jnp.where(accept, taken, jnp.where(reject, prev, theta))
        new_prev = jnp.where(accept, theta, prev)
        eps = jnp.where(halve, eps * f32(0.5), eps)
        eta = jnp.where(halve, eta * f32(0.5), eta)
        halv = jnp.where(halve, halv + 1, halv)
        grow = accept & ~bounce & (rise < tau / 2)
        eps = jnp.where(grow, eps * f32(1 + growth), eps)
        return new_theta, new_prev, eps, eta, stopped, reason, halv

    # vmap over the particle axis of the state and the drifts; data and ℓ* are shared.
    vstep = jax.vmap(step, in_axes=(None, 0, 0, 0, 0, 0, 0, 0, 0, None, None, None))

    def chunk(state, consts, steps):
        d, x, y, lstar = consts

        def body(_, st):
            t, rest = st[0], st[1:]
            return (t + 1,) + vstep(t, *rest, d, x, y, lstar)

        return lax.fori_loop(0, steps, body, state)

    chunk_jit = jax.jit(chunk, static_argnums=2, donate_argnums=0)

    def init_state(theta0, N):
        th = jnp.broadcast_to(jnp.asarray(theta0, f32), (N, P))
        return (jnp.int32(0), th, jnp.array(th), jnp.full((N,), eps0, f32), jnp.full((N,), eta0, f32),
                jnp.full((N,), -1, jnp.int32), jnp.zeros((N,), jnp.int32), jnp.zeros((N,), jnp.int32))

    return init_state, chunk_jit, jax.jit(loss)


def settings_for(c):
    """The benchmark settings of peerOptions in Go."""
    P = num_params(c["hidden"])
    tau = P / (2 * c["n"])
    return dict(sigma=0.5, alpha=1.0, eta0=1e-3, eps0=1e-3, tau=tau, diverge_rise=100 * tau,
                reject_factor=2.0, growth=0.03)


def random_problem(c, seed=0):
    rng = np.random.default_rng(seed)
    P = num_params(c["hidden"])
    x = rng.standard_normal((c["n"], D)).astype(np.float32)
    y = rng.standard_normal((c["n"], 1)).astype(np.float32)
    # Glorot-like initial θ (the values do not change the cost of a step).
    sizes = layer_sizes(c["hidden"])
    parts = []
    for i in range(len(sizes) - 1):
        a, b = sizes[i], sizes[i + 1]
        parts.append((rng.standard_normal(a * b) * math.sqrt(1.0 / a)).astype(np.float32))
        parts.append(np.zeros(b, np.float32))
    theta0 = np.concatenate(parts)
    assert theta0.size == P
    d = rng.standard_normal((c["N"], P)).astype(np.float32)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return x, y, theta0, d


def matmul_peak(k=2048, seconds=2.0):
    """float32 k×k by k×k products per second, as fiberlib/fiber's BenchmarkMatmulPeakXLA (summed result)."""
    rng = np.random.default_rng(3)
    a = jnp.asarray(rng.standard_normal((k, k)).astype(np.float32))
    b = jnp.asarray(rng.standard_normal((k, k)).astype(np.float32))
    f = jax.jit(lambda a, b: jnp.sum(a @ b))
    f(a, b).block_until_ready()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        f(a, b).block_until_ready()
        n += 1
    el = time.perf_counter() - t0
    return dict(kind="matmul", engine="jax", gflops=n * 2 * k ** 3 / el / 1e9, seconds=el, calls=n)


def time_case(c, spc, calls, rounds, seconds=0.0):
    st = settings_for(c)
    init_state, chunk, loss = make_walk(c["hidden"], c["n"], **st)
    x, y, theta0, d = random_problem(c)
    x, y, d = jnp.asarray(x), jnp.asarray(y), jnp.asarray(d)
    lstar = loss(jnp.asarray(theta0), x, y)
    consts = (d, x, y, lstar)
    state = init_state(theta0, c["N"])
    state = chunk(state, consts, spc)  # compile and warm up
    jax.block_until_ready(state)
    if seconds > 0:  # choose the number of calls from one timed call
        t0 = time.perf_counter()
        state = jax.block_until_ready(chunk(state, consts, spc))
        calls = max(calls, int(math.ceil(seconds / (time.perf_counter() - t0))))
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            state = chunk(state, consts, spc)
        jax.block_until_ready(state)
        el = time.perf_counter() - t0
        ps = calls * spc * c["N"] / el
        out.append(dict(kind="walk", engine="jax", case=case_name(c), spc=spc, calls=calls, seconds=el,
                        particle_steps_per_s=ps, gflops=ps * flops_per_particle_step(c) / 1e9,
                        s_per_call=el / calls, params=num_params(c["hidden"])))
    return out


def check(dirname):
    """Runs the Go dump's problem for the same number of steps and compares the states."""
    meta = json.load(open(os.path.join(dirname, "meta.json")))
    rd = lambda name, dt=np.float32: np.fromfile(os.path.join(dirname, name), dtype="<f4" if dt == np.float32 else "<i4")
    n, N, P = meta["n"], meta["particles"], meta["params"]
    x, y = rd("x").reshape(n, meta["d"]), rd("y").reshape(n, 1)
    theta0, drift = rd("theta0"), rd("drift").reshape(N, P)
    init_state, chunk, loss = make_walk(meta["hidden"], n, meta["sigma"], meta["alpha"], meta["eta"], meta["epsilon"],
                                        meta["tau"], meta["diverge_rise"], meta["reject_factor"],
                                        meta["epsilon_growth"])
    lstar = jnp.float32(meta["loss_star"])
    ljax = float(loss(jnp.asarray(theta0), jnp.asarray(x), jnp.asarray(y)))
    state = chunk(init_state(theta0, N), (jnp.asarray(drift), jnp.asarray(x), jnp.asarray(y), lstar), meta["steps"])
    theta, eps, eta, halv = np.asarray(state[1]), np.asarray(state[3]), np.asarray(state[4]), np.asarray(state[7])
    go_theta, go_eps, go_eta, go_halv = rd("theta").reshape(N, P), rd("eps"), rd("eta"), rd("halvings", np.int32)
    moved_go = np.linalg.norm(go_theta - theta0, axis=1)
    diff = np.linalg.norm(theta - go_theta, axis=1)
    res = dict(loss_star_go=meta["loss_star"], loss_star_jax=ljax, steps=meta["steps"],
               max_rel_theta_diff=float(np.max(diff / np.maximum(moved_go, 1e-30))),
               max_rel_eps_diff=float(np.max(np.abs(eps - go_eps) / go_eps)),
               max_rel_eta_diff=float(np.max(np.abs(eta - go_eta) / go_eta)),
               halvings_equal=bool(np.array_equal(halv, go_halv)), halvings_total=int(go_halv.sum()),
               mean_move_go=float(moved_go.mean()))
    ok = (abs(ljax - meta["loss_star"]) < 1e-4 * abs(meta["loss_star"]) + 1e-5 and res["max_rel_theta_diff"] < 1e-3
          and res["max_rel_eps_diff"] < 1e-4 and res["max_rel_eta_diff"] < 1e-4 and res["halvings_equal"])
    res["ok"] = ok
    print(json.dumps(res))
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="50:512:64:1,10,100;200x200:1024:64:10")
    ap.add_argument("--calls", type=int, default=0, help="calls per timing round (0: about --steps steps)")
    ap.add_argument("--steps", type=int, default=200, help="steps per timing round when --calls is 0")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=0, help="at least this long per timing (more calls)")
    ap.add_argument("--matmul", action="store_true", help="also measure the 2048² matrix-product rate")
    ap.add_argument("--check", default="", help="folder written by BenchmarkPeerWalkDump")
    ap.add_argument("--platform", default="", help="cpu or cuda: fail unless JAX runs there")
    args = ap.parse_args()
    if args.platform:
        plat = jax.devices()[0].platform
        want = "gpu" if args.platform in ("cuda", "gpu") else args.platform
        if plat != want:
            sys.exit("walk_jax.py: JAX runs on %r, not on %r (devices: %s)" % (plat, want, jax.devices()))
    if args.check:
        sys.exit(0 if check(args.check) else 1)
    if args.matmul:
        r = matmul_peak()
        r.update(device=str(jax.devices()[0]), jax=jax.__version__)
        print(json.dumps(r), flush=True)
    for c in parse_cases(args.cases):
        for spc in c["spc"]:
            calls = args.calls or max(1, args.steps // spc)
            for r in time_case(c, spc, calls, args.rounds, args.seconds):
                r.update(device=str(jax.devices()[0]), jax=jax.__version__)
                print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
