"""Combines the raw outputs of scripts/bench-peers.sh into one table (printed, results.md, results.csv).

Ratio convention everywhere: speedup = peer time / our time (> 1: fiberbnn is faster). Each number is the
median over the rounds; the spread column is (max − min)/median of our side's rounds, to show how noisy the
shared machine was.

    python bench/peers/table.py bench/results/<date>-peers
"""

import csv
import json
import os
import re
import statistics
import sys

LINE = re.compile(r"^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$")


def go_bench(path):
    """{name: [ {metric: value}, ... one per run ]}"""
    out = {}
    if not os.path.exists(path):
        return out
    for line in open(path):
        m = LINE.match(line.strip())
        if not m:
            continue
        f = m.group(3).split()
        metrics = {f[i + 1]: float(f[i]) for i in range(0, len(f) - 1, 2)}
        out.setdefault(m.group(1), []).append(metrics)
    return out


def jsonl(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.startswith("{")]


def med(v):
    return statistics.median(v) if v else float("nan")


def spread(v):
    return (max(v) - min(v)) / statistics.median(v) if len(v) > 1 and statistics.median(v) else 0.0


def fmt(v, d=3):
    if v != v:  # nan
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{d}g}"


def main(out):
    raw = os.path.join(out, "raw")
    rows = []  # dicts for results.csv
    lines = []

    gw = go_bench(os.path.join(raw, "go-walk.txt"))
    jw = jsonl(os.path.join(raw, "jax-walk.jsonl"))
    peak = [m["GFLOP/s"] for k, v in gw.items() if "MatmulPeak" in k for m in v]
    jpeak = [r["gflops"] for r in jw if r.get("kind") == "matmul"]
    if gw or jw:
        lines.append("## Fiber walk: fiberbnn (GoMLX, XLA CPU) vs JAX (jit + vmap), same arithmetic per step\n")
        # Both engines run XLA: the machine's XLA matrix-product rate is the better of the two medians (on a
        # shared machine a single timing can be slowed by other jobs).
        ref = max([x for x in (med(peak), med(jpeak)) if x == x] or [float("nan")])
        if peak or jpeak:
            lines.append(f"Matrix-product peak (2048² float32 product, XLA CPU): through GoMLX {fmt(med(peak))} GFLOP/s, "
                         f"through JAX {fmt(med(jpeak))} GFLOP/s (medians); share of peak = achieved / {fmt(ref)} GFLOP/s.\n")
        lines.append("| case | steps/call | ours engine (particle-steps/s) | ours donate | ours Walker.Advance | JAX | speedup engine/JAX | speedup donate/JAX | ours GFLOP/s (share of peak) | JAX GFLOP/s | ours spread |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        cases = sorted({(r["case"], r["spc"]) for r in jw if r.get("kind", "walk") == "walk"} |
                       {(k.split("/", 1)[1].rsplit("/spc", 1)[0], int(k.rsplit("/spc", 1)[1].split("/")[0]))
                        for k in gw if k.startswith("BenchmarkPeerWalk/")})
        for case, spc in cases:
            def ours(mode, metric="particle-steps/s"):
                return [m[metric] for m in gw.get(f"BenchmarkPeerWalk/{case}/spc{spc}/{mode}", []) if metric in m]
            jax = [r["particle_steps_per_s"] for r in jw if r.get("case") == case and r.get("spc") == spc]
            jg = [r["gflops"] for r in jw if r.get("case") == case and r.get("spc") == spc]
            e, d, w = med(ours("engine")), med(ours("donate")), med(ours("walker"))
            g = med(ours("engine", "GFLOP/s"))
            share = g / ref
            sp = e / med(jax) if jax else float("nan")
            spd = d / med(jax) if jax else float("nan")
            lines.append(f"| {case} | {spc} | {fmt(e)} | {fmt(d)} | {fmt(w)} | {fmt(med(jax))} | **{fmt(sp)}×** | **{fmt(spd)}×** | "
                         f"{fmt(g)} ({fmt(100 * share, 2)} %) | {fmt(med(jg))} | {fmt(100 * spread(ours('engine')), 2)} % |")
            rows.append(dict(bench="walk", case=case, variant=f"spc{spc}", ours=e, ours_donate=d, ours_walker=w,
                             peer=med(jax), peer_name="jax", unit="particle-steps/s", speedup=sp, speedup_donate=spd, ours_gflops=g,
                             peer_gflops=med(jg), peak_gflops=ref, rounds=len(ours("engine"))))
        lines.append("\nengine: state kept on the device between calls; donate: the same with the state buffers donated, "
                     "as the JAX peer does (donate_argnums): the like-for-like pairing. Walker.Advance adds the per-call "
                     "diagnostics and host records of the library's walker.")
        chk = os.path.join(raw, "check.json")
        if os.path.exists(chk):
            c = json.load(open(chk))
            lines.append(f"\nSame arithmetic: after {c['steps']} steps from the same θ₀, drifts and data, JAX's "
                         f"positions differ from Go's by at most {c['max_rel_theta_diff']:.1e} of the distance walked; "
                         f"ε, η equal to {max(c['max_rel_eps_diff'], c['max_rel_eta_diff']):.1e}; halvings equal: "
                         f"{c['halvings_equal']} ({c['halvings_total']} in total); check {'passed' if c['ok'] else 'FAILED'}.")
        lines.append("")

    gl = go_bench(os.path.join(raw, "go-laplace.txt"))
    tl = jsonl(os.path.join(raw, "torch-laplace.jsonl"))
    if gl or tl:
        lines.append("## Laplace: fiberbnn (fiberlib/laplace) vs laplace-torch (CPU PyTorch), UCI kin8nm split 0, 8→50→1 tanh MLP\n")
        lines.append("| variant | phase | ours (s) | laplace-torch (s) | speedup | ours spread |")
        lines.append("|---|---|---|---|---|---|")
        keys = sorted({(r["variant"], r["phase"]) for r in tl} |
                      {tuple(k.split("/", 1)[1].rsplit("/", 1)) for k in gl if k.startswith("BenchmarkPeerLaplace/")})
        for variant, phase in keys:
            o = [m["s/op"] for m in gl.get(f"BenchmarkPeerLaplace/{variant}/{phase}", [])]
            t = [r["seconds"] for r in tl if r["variant"] == variant and r["phase"] == phase]
            sp = med(t) / med(o) if o and t else float("nan")
            lines.append(f"| {variant} | {phase} | {fmt(med(o))} | {fmt(med(t))} | **{fmt(sp)}×** | {fmt(100 * spread(o), 2)} % |")
            rows.append(dict(bench="laplace", case="kin8nm", variant=f"{variant}/{phase}", ours=med(o), peer=med(t),
                             peer_name="laplace-torch", unit="s", speedup=sp, rounds=len(o)))
        flow = [m["s/op"] for m in gl.get("BenchmarkPeerFlowPredictive", [])]
        if flow:
            lines.append("\nTarget: flow sampling + MC predictive (100 samples, test set) against laplace-torch's full-network "
                         "sampling predictive (100 samples):\n")
            lines.append("| ours: flow sample + predictive (s) | laplace-torch variant | laplace-torch pred_nn (s) | speedup |")
            lines.append("|---|---|---|---|")
            for variant in ("all/diag", "all/kron"):
                t = [r["seconds"] for r in tl if r["variant"] == variant and r["phase"] == "pred_nn"]
                sp = med(t) / med(flow) if t else float("nan")
                lines.append(f"| {fmt(med(flow))} | {variant} | {fmt(med(t))} | **{fmt(sp)}×** |")
                rows.append(dict(bench="flow-predictive", case="kin8nm", variant=f"flow vs {variant}/pred_nn",
                                 ours=med(flow), peer=med(t), peer_name="laplace-torch", unit="s", speedup=sp,
                                 rounds=len(flow)))
        lines.append("")

    text = "\n".join(lines)
    mach = os.path.join(out, "machine.txt")
    header = "# fiberbnn vs Python peers\n\n```\n" + (open(mach).read() if os.path.exists(mach) else "") + "```\n\n"
    with open(os.path.join(out, ".results.md.tmp"), "w") as f:
        f.write(header + text + "\n")
    os.replace(os.path.join(out, ".results.md.tmp"), os.path.join(out, "results.md"))
    fields = ["bench", "case", "variant", "ours", "ours_donate", "ours_walker", "peer", "peer_name", "unit", "speedup", "speedup_donate",
              "ours_gflops", "peer_gflops", "peak_gflops", "rounds"]
    with open(os.path.join(out, ".results.csv.tmp"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in fields})
    os.replace(os.path.join(out, ".results.csv.tmp"), os.path.join(out, "results.csv"))
    print(text)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
