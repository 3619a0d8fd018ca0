#!/usr/bin/env python
"""Genomic prediction at scale: GBLUP, BayesB and the torch MLP against the machine's limit.

Simulates (seeded, not timed) int8 dosages (binomial(2, p), p ~ U(0.05, 0.5))
for n individuals x m markers and an additive trait with h2 = 0.5 (500 QTL),
then, each case in a fresh subprocess (so that peak memory does not carry over
from one case to the next):

1. **GBLUP** at each n: ours = ``GBLUP().fit(X, y, ploidy=2)``, which yields the
   GEBVs of the fitted lines (``train_gebv_``), from the int8 matrix (conversion to float32, validation, G from X X' with
   rank-one centring, eigh in float64, REML, reliabilities, GEBVs, marker
   effects). Reference = numpy alone on the same data: ``Xf @ Xf.T`` with Xf
   the float32 copy of X (the dtype our code multiplies in; the copy is not
   timed) plus ``numpy.linalg.eigh`` of that product in float64 (the precision
   our code decomposes in). ``ratio = ours / reference``, goal <= 1.3. The
   eigh of the float32 product is timed too, for information. Reference and
   ours alternate, ``--reps`` times each, and the minimum counts. Where the
   time goes inside ours is recorded step by step (``steps``).
2. **BayesB** at the smallest full size (n = 2,000): a fit of 20 and one of
   220 Gibbs iterations after a warm-up fit on a tiny problem (the numba
   compile, timed separately with an empty cache); seconds per 1,000
   iterations come from the difference, so the fixed costs cancel. Reference =
   the machine's limit for one iteration's n x m multiply-adds: one
   ``Xf.T @ r`` (float32 matrix-vector product over the whole matrix).
3. **MLP** (torch, CPU; GPU when one is available) at the same size: seconds
   per epoch from fits of 1 and 1 + ``--epochs`` epochs (patience larger than
   that). Reference = one forward and backward pass of the whole training set
   through the same layers in plain torch (the epoch's arithmetic at its most
   efficient); a plain torch training loop with the same batches and AdamW is
   timed too (``ratio_vs_plain_loop``).

Peak memory of each case is the rise of the child's peak RSS (VmHWM) over its
RSS after loading X, reported in copies of X as int8 and as float32.

Prints a table and writes JSON (default ``bench/results/predict_speed.json``).

    python bench/predict_speed.py --quick        # n = 500, 1000; m = 5,000
    python bench/predict_speed.py                # n = 2,000, 5,000; m = 50,000
    python bench/predict_speed.py --sizes 2000 --markers 20000 --skip mlp
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Keep this script's own folder off the import path (bench/ holds scripts named like packages).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.3
H2 = 0.5
N_QTL = 500
RESULT_TAG = "RESULT "


# --------------------------------------------------------------------------- helpers


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux: clear_refs 5); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_kb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_mb() -> float:
    kb = _status_kb("VmRSS")
    return (kb or 0) / 1024


def peak_rss_mb() -> float:
    """Peak RSS since the last reset (VmHWM), else since start (getrusage)."""
    kb = _status_kb("VmHWM")
    if kb is None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


class PeakMemory:
    """Rise of the peak RSS over the RSS at entry, in MB."""

    def __enter__(self) -> PeakMemory:
        self.reset = reset_peak_rss()
        self.base = rss_mb() if self.reset else peak_rss_mb()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.rise_mb = round(peak_rss_mb() - self.base, 1)


def memory_record(pm: PeakMemory, X: np.ndarray) -> dict[str, Any]:
    mb8 = X.size / 2**20
    return {
        "peak_rise_mb": pm.rise_mb,
        "x_int8_mb": round(mb8, 1),
        "x_float32_mb": round(4 * mb8, 1),
        "copies_of_x_int8": round(pm.rise_mb / mb8, 2),
        "copies_of_x_float32": round(pm.rise_mb / (4 * mb8), 2),
        "exact_peak": pm.reset,
    }


def load1() -> float:
    return round(os.getloadavg()[0], 2)


def wait_for_quiet(limit: float, max_wait: float) -> dict[str, Any]:
    """Wait (polling every 30 s, at most ``max_wait`` s) until the 1-minute load is <= limit."""
    start = load1()
    waited = 0.0
    while load1() > limit and waited < max_wait:
        log(f"1-minute load {load1():.2f} > {limit}: waiting (waited {waited:.0f} s so far)")
        time.sleep(30)
        waited += 30
    now = load1()
    if now > limit:
        log(f"load still {now:.2f} after {waited:.0f} s: running anyway (figures may be noisy)")
    return {"load1_at_start": start, "waited_s": waited, "load1_after_wait": now}


def blas_info() -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        cfg = np.show_config(mode="dicts")  # numpy >= 1.25
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        info["numpy_blas"] = {k: blas.get(k) for k in ("name", "version", "openblas configuration")}
    except (TypeError, ValueError):
        info["numpy_blas"] = None
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "version")}
            for p in threadpool_info()
        ]
    except ImportError:
        info["threadpools"] = None
    info["thread_env"] = {
        k: os.environ.get(k)
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        if os.environ.get(k)
    }
    return info


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# --------------------------------------------------------------------------- data


def simulate(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n x m) int8 dosages binomial(2, p) and the frequencies p."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.5, m)
    X = np.empty((n, m), dtype=np.int8)
    for s in range(0, n, 250):
        rows = min(250, n - s)
        X[s : s + rows] = rng.binomial(2, p, size=(rows, m))
    return X, p


def trait(X: np.ndarray, p: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Additive trait with h2 = H2 from N_QTL random markers: (phenotype, true genetic value)."""
    rng = np.random.default_rng(seed + 1)
    qtl = np.sort(rng.choice(X.shape[1], min(N_QTL, X.shape[1]), replace=False))
    effect = rng.normal(size=qtl.size)
    g = (X[:, qtl] - 2 * p[qtl]) @ effect
    e = rng.normal(size=X.shape[0]) * math.sqrt(g.var() * (1 - H2) / H2)
    return g + e, g


def load_case(data: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.load(data / "X.npy")
    y, g = np.load(data / "y.npy"), np.load(data / "g.npy")
    return X, y, g


# --------------------------------------------------------------------------- children


def child_gblup_reference(data: Path) -> dict[str, Any]:
    """numpy alone: float32 X X' and eigh of it in float64 (and, for information, in float32)."""
    X, _, _ = load_case(data)
    with PeakMemory() as pm:
        Xf = X.astype(np.float32)  # not timed: the same copy our code makes
        t0 = time.perf_counter()
        P = Xf @ Xf.T
        t1 = time.perf_counter()
        P64 = P.astype(np.float64)
        w, v = np.linalg.eigh(P64)
        t2 = time.perf_counter()
        del w, v, P64
    t3 = time.perf_counter()
    w32, v32 = np.linalg.eigh(P)
    t4 = time.perf_counter()
    del w32, v32
    return {
        "seconds": t2 - t0,
        "steps": {"X X' (float32)": t1 - t0, "eigh (float64)": t2 - t1},
        "eigh_float32_seconds": t4 - t3,
        "memory": memory_record(pm, X),
    }


STEP_ORDER = [
    "check_genotypes (int8 -> float32, validate; fit + predict)",
    "centred_cross_product (X X' float32 + centring)",
    "Eigen.of (checks + eigh)",
    "  of which eigh (float64)",
    "reml (REML + weights)",
    "_set (marker effects X' w)",
    "_pev_diag (reliabilities)",
    "_predict (X b)",
    "other (means, scaling, symmetrise, X[keep] copy, G w, ...)",
]


def _instrument(times: dict[str, float]) -> None:
    """Time the steps of GBLUP.fit/predict by wrapping the functions they call (this process)."""
    import breedhub.predict.base as base
    import breedhub.predict.gblup as gb

    def wrap(owner: Any, name: str, key: str) -> None:
        f = getattr(owner, name)

        def timed(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                times[key] = times.get(key, 0.0) + time.perf_counter() - t

        setattr(owner, name, timed)

    for (owner, name), key in zip(
        [(base, "check_genotypes"), (gb, "centred_cross_product"), (gb.Eigen, "of"),
         (np.linalg, "eigh"), (gb, "reml"), (gb.GBLUP, "_set"), (gb, "_pev_diag"),
         (gb.GBLUP, "_predict")],
        STEP_ORDER, strict=False,
    ):  # fmt: skip
        wrap(owner, name, key)


def child_gblup_ours(data: Path) -> dict[str, Any]:
    from breedhub.predict.gblup import GBLUP

    X, y, g = load_case(data)
    steps: dict[str, float] = {}
    _instrument(steps)
    with PeakMemory() as pm:
        t0 = time.perf_counter()
        # fit() is G + REML + GEBVs (train_gebv_), reliabilities and marker effects:
        # what the issue times. predict() on the same lines would only repeat the GEBVs.
        model = GBLUP().fit(X, y, ploidy=2)
        gebv = model.train_gebv_
        seconds = time.perf_counter() - t0
    top = sum(v for k, v in steps.items() if not k.startswith(" "))
    steps["other (means, scaling, symmetrise, X[keep] copy, G w, ...)"] = seconds - top
    order = sorted(steps, key=lambda k: STEP_ORDER.index(k) if k in STEP_ORDER else len(STEP_ORDER))
    return {
        "seconds": seconds,
        "steps": {k: steps[k] for k in order},
        "memory": memory_record(pm, X),
        "h2": float(model.info_["h2"]),
        "accuracy": float(np.corrcoef(gebv, g)[0, 1]),
    }


def child_bayesb(data: Path, n_short: int, n_long: int) -> dict[str, Any]:
    from breedhub.predict.bayes import BayesB

    X, y, g = load_case(data)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    tiny = rng.binomial(2, 0.3, size=(50, 100)).astype(np.int8)
    BayesB(n_iter=2, burn_in=0, thin=1).fit(tiny, rng.normal(size=50), ploidy=2)
    compile_s = time.perf_counter() - t0

    def fit(n_iter: int) -> tuple[float, Any]:
        t = time.perf_counter()
        model = BayesB(n_iter=n_iter, burn_in=0, thin=1, seed=1).fit(X, y, ploidy=2)
        return time.perf_counter() - t, model

    with PeakMemory() as pm:
        t_short, _ = fit(n_short)
        t_long, model = fit(n_long)
    per_iter = (t_long - t_short) / (n_long - n_short)

    # The machine's limit: one float32 matrix-vector pass over all n x m genotypes.
    Xf = X.astype(np.float32)
    r = rng.normal(size=X.shape[0]).astype(np.float32)
    _ = Xf.T @ r
    passes = []
    for _ in range(10):
        t = time.perf_counter()
        _ = Xf.T @ r
        passes.append(time.perf_counter() - t)
    one_pass = min(passes)
    gebv = model.predict(X)
    return {
        "compile_seconds_cold_cache": compile_s,
        "fit_seconds": {str(n_short): t_short, str(n_long): t_long},
        "seconds_per_1000_iter": 1000 * per_iter,
        "fixed_seconds": t_short - n_short * per_iter,
        "reference_pass_seconds": one_pass,
        "reference_seconds_per_1000": 1000 * one_pass,
        "ratio": per_iter / one_pass,
        "genotype_storage": model.info_.get("genotype_storage"),
        "memory": memory_record(pm, X),
        "accuracy_in_sample": float(np.corrcoef(gebv, g)[0, 1]),
    }


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _mlp_reference(
    Xs: Any, t: Any, hidden: tuple[int, ...], batch: int, device: str
) -> dict[str, float]:
    """Plain torch: one forward+backward of the whole set; one epoch of a plain AdamW loop."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    layers: list[nn.Module] = []
    n_in = Xs.shape[1]
    for h in hidden:
        layers += [nn.Linear(n_in, h), nn.ReLU(), nn.Dropout(0.3)]
        n_in = h
    net = nn.Sequential(*layers, nn.Linear(n_in, 1)).to(device)
    full = []
    for _ in range(3):
        _sync(device)
        t0 = time.perf_counter()
        for s in range(0, Xs.shape[0], 4096):  # chunks bound the activations' memory
            loss = nn.functional.mse_loss(net(Xs[s : s + 4096]).reshape(-1), t[s : s + 4096])
            loss.backward()
        _sync(device)
        full.append(time.perf_counter() - t0)
        net.zero_grad(set_to_none=True)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
    gen = np.random.default_rng(0)
    loop = []
    for _ in range(2):
        _sync(device)
        t0 = time.perf_counter()
        for idx in np.array_split(gen.permutation(Xs.shape[0]), math.ceil(Xs.shape[0] / batch)):
            i = torch.as_tensor(idx, device=device)
            loss = nn.functional.mse_loss(net(Xs[i]).reshape(-1), t[i])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        _sync(device)
        loop.append(time.perf_counter() - t0)
    return {"forward_backward_seconds": min(full), "plain_loop_epoch_seconds": min(loop)}


def child_mlp(data: Path, epochs: int, device: str) -> dict[str, Any]:
    import torch

    from breedhub.predict.nn import MLP

    X, y, g = load_case(data)
    params: dict[str, Any] = {"patience": 10 * (epochs + 1), "device": device}
    defaults = MLP(device=device).params

    def fit(n_epochs: int) -> tuple[float, Any]:
        _sync(device)
        t = time.perf_counter()
        model = MLP(max_epochs=n_epochs, **params).fit(X, y, ploidy=2)
        _sync(device)
        return time.perf_counter() - t, model

    with PeakMemory() as pm:
        t1, _ = fit(1)
        tn, model = fit(1 + epochs)
    per_epoch = (tn - t1) / epochs
    n_train = X.shape[0] - model.info_["n_validation"]
    Xs = torch.as_tensor(X[:n_train], dtype=torch.float32, device=device)
    Xs = (Xs - Xs.mean(0)) / Xs.std(0).clamp_min(1e-6)
    tt = torch.as_tensor(y[:n_train] - y.mean(), dtype=torch.float32, device=device)
    ref = _mlp_reference(Xs, tt, tuple(defaults["hidden"]), defaults["batch_size"], device)
    return {
        "device": device,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "hidden": list(defaults["hidden"]),
        "batch_size": defaults["batch_size"],
        "n_train": n_train,
        "fit_seconds": {"1": t1, str(1 + epochs): tn},
        "seconds_per_epoch": per_epoch,
        "fixed_seconds": t1 - per_epoch,
        "reference_forward_backward_seconds": ref["forward_backward_seconds"],
        "ratio": per_epoch / ref["forward_backward_seconds"],
        "plain_loop_epoch_seconds": ref["plain_loop_epoch_seconds"],
        "ratio_vs_plain_loop": per_epoch / ref["plain_loop_epoch_seconds"],
        "memory": memory_record(pm, X),
        "epochs_run": model.info_["epochs_run"],
    }


def run_child(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one case in a fresh interpreter; its last RESULT line is the record."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    before = load1()
    proc = subprocess.run(
        cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}, cwd=ROOT
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child {' '.join(args)} failed (exit {proc.returncode})")
    res: dict[str, Any] = json.loads(lines[-1][len(RESULT_TAG) :])
    res["load1_before"] = before
    return res


def child_main(ns: argparse.Namespace) -> int:
    data = Path(ns.data)
    kind = ns.child
    if kind == "gblup_ref":
        res = child_gblup_reference(data)
    elif kind == "gblup_ours":
        res = child_gblup_ours(data)
    elif kind == "bayesb":
        res = child_bayesb(data, ns.iters[0], ns.iters[1])
    elif kind == "mlp":
        res = child_mlp(data, ns.epochs, ns.device)
    else:
        raise SystemExit(f"unknown child {kind}")
    print(RESULT_TAG + json.dumps(res), flush=True)
    return 0


# --------------------------------------------------------------------------- parent


def r3(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def bench_gblup(data: Path, reps: int) -> dict[str, Any]:
    refs, ours = [], []
    for rep in range(reps):
        ref = run_child(["--child", "gblup_ref", "--data", str(data)])
        prod, eig = ref["steps"]["X X' (float32)"], ref["steps"]["eigh (float64)"]
        log(
            f"    reference rep {rep + 1}: {ref['seconds']:.2f} s (X X' {prod:.2f}, eigh {eig:.2f})"
        )
        refs.append(ref)
        our = run_child(["--child", "gblup_ours", "--data", str(data)])
        log(
            f"    ours rep {rep + 1}: {our['seconds']:.2f} s (ratio {our['seconds'] / ref['seconds']:.2f})"
        )
        ours.append(our)
    best_ref = min(refs, key=lambda r: r["seconds"])
    best_our = min(ours, key=lambda r: r["seconds"])
    return {
        "reference_seconds": r3(best_ref["seconds"]),
        "reference_steps": {k: r3(v) for k, v in best_ref["steps"].items()},
        "reference_eigh_float32_seconds": r3(min(r["eigh_float32_seconds"] for r in refs)),
        "ours_seconds": r3(best_our["seconds"]),
        "ratio": r3(best_our["seconds"] / best_ref["seconds"]),
        "goal": GOAL,
        "meets_goal": best_our["seconds"] / best_ref["seconds"] <= GOAL,
        "ratio_vs_float32_eigh": r3(
            best_our["seconds"]
            / (best_ref["steps"]["X X' (float32)"] + min(r["eigh_float32_seconds"] for r in refs))
        ),
        "ours_steps": {k: r3(v) for k, v in best_our["steps"].items()},
        "all_reference_seconds": [r3(r["seconds"]) for r in refs],
        "all_ours_seconds": [r3(r["seconds"]) for r in ours],
        "memory_ours": max((r["memory"] for r in ours), key=lambda m: m["peak_rise_mb"]),
        "memory_reference": max((r["memory"] for r in refs), key=lambda m: m["peak_rise_mb"]),
        "h2_estimate": round(best_our["h2"], 3),
        "accuracy_in_sample": round(best_our["accuracy"], 3),
        "load1_before": [r["load1_before"] for r in refs + ours],
    }


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    return {
        k: r3(v) if isinstance(v, float) else _rounded(v) if isinstance(v, dict) else v
        for k, v in d.items()
    }


def print_table(doc: dict[str, Any]) -> None:
    res = doc["results"]
    print()
    print(f"m = {doc['params']['markers']:,} markers; reference for GBLUP = numpy float32 Xf @ Xf.T "
          f"+ numpy.linalg.eigh in float64 of it (Xf: float32 copy of X, not timed); "
          f"min of {doc['params']['reps']} runs; goal ratio <= {GOAL}")  # fmt: skip
    head = (f"{'case':<26} {'ours':>12} {'reference':>12} {'ratio':>7}  {'peak rise MB':>12} "
            f"{'x int8':>7} {'x f32':>6}")  # fmt: skip
    print(head)
    print("-" * len(head))
    for key, r in res.get("gblup", {}).items():
        mem = r["memory_ours"]
        print(f"{'GBLUP n=' + key:<26} {r['ours_seconds']:>10.2f} s {r['reference_seconds']:>10.2f} s "
              f"{r['ratio']:>7.2f}  {mem['peak_rise_mb']:>12,.0f} {mem['copies_of_x_int8']:>7.1f} "
              f"{mem['copies_of_x_float32']:>6.2f}")  # fmt: skip
    if res.get("bayesb"):
        r = res["bayesb"]
        mem = r["memory"]
        print(f"{'BayesB n=' + str(r['n']) + ' s/1000 it':<26} {r['seconds_per_1000_iter']:>10.2f} s "
              f"{r['reference_seconds_per_1000']:>10.2f} s {r['ratio']:>7.2f}  "
              f"{mem['peak_rise_mb']:>12,.0f} {mem['copies_of_x_int8']:>7.1f} "
              f"{mem['copies_of_x_float32']:>6.2f}")  # fmt: skip
    for dev, r in (res.get("mlp") or {}).items():
        if r is None:
            print(f"{'MLP ' + dev:<26} {'(no device)':>12}")
            continue
        mem = r["memory"]
        print(f"{'MLP ' + dev + ' n=' + str(r['n']) + ' s/epoch':<26} "
              f"{r['seconds_per_epoch']:>10.2f} s {r['reference_forward_backward_seconds']:>10.2f} s "
              f"{r['ratio']:>7.2f}  {mem['peak_rise_mb']:>12,.0f} {mem['copies_of_x_int8']:>7.1f} "
              f"{mem['copies_of_x_float32']:>6.2f}")  # fmt: skip
    print()
    for key, r in res.get("gblup", {}).items():
        print(f"GBLUP n={key}: reference {r['reference_steps']}, float32 eigh "
              f"{r['reference_eigh_float32_seconds']} s (ratio against float32 eigh "
              f"{r['ratio_vs_float32_eigh']}); h2 {r['h2_estimate']}")  # fmt: skip
        for step, s in r["ours_steps"].items():
            print(f"    {step:<64} {s:>8.2f} s")
    if res.get("bayesb"):
        r = res["bayesb"]
        print(f"BayesB: numba compile (cold cache) {r['compile_seconds_cold_cache']:.1f} s, "
              f"fixed cost per fit {r['fixed_seconds']:.1f} s; reference = one float32 "
              f"Xf.T @ r pass ({r['reference_pass_seconds'] * 1000:.1f} ms) per iteration")  # fmt: skip
    for dev, r in (res.get("mlp") or {}).items():
        if r:
            print(f"MLP {dev}: reference = one forward+backward of the {r['n_train']} training "
                  f"samples through the same layers in plain torch; a plain AdamW loop "
                  f"(batch {r['batch_size']}) takes {r['plain_loop_epoch_seconds']:.2f} s/epoch "
                  f"(ratio {r['ratio_vs_plain_loop']:.2f})")  # fmt: skip
    print(f"load (1 min): {doc['load']}")
    print()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default=None, help="individuals for GBLUP (default 2000,5000)")
    ap.add_argument("--markers", type=int, default=None, help="default 50,000")
    ap.add_argument("--bayes-n", type=int, default=None, help="default: the smallest size")
    ap.add_argument("--iters", default="20,220", help="the two BayesB chain lengths")
    ap.add_argument("--epochs", type=int, default=5, help="MLP epochs timed (after one)")
    ap.add_argument("--reps", type=int, default=2, help="runs of each GBLUP case (min counts)")
    ap.add_argument("--skip", default="", help="comma list of gblup,bayesb,mlp")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "predict_speed.json")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--max-load", type=float, default=1.5)
    ap.add_argument("--max-wait", type=float, default=900, help="seconds to wait for the load")
    ap.add_argument("--quick", action="store_true", help="n = 500, 1000; m = 5,000")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.iters = [int(v) for v in args.iters.split(",")]
    if args.child:
        return child_main(args)
    if args.quick:
        args.max_wait = 0
    args.sizes = args.sizes or ("500,1000" if args.quick else "2000,5000")
    args.markers = args.markers or (5_000 if args.quick else 50_000)
    sizes = sorted(int(v) for v in args.sizes.split(","))
    bayes_n = args.bayes_n or sizes[0]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if len(args.iters) != 2 or args.iters[1] <= args.iters[0]:
        ap.error("--iters needs two increasing chain lengths")

    load = wait_for_quiet(args.max_load, args.max_wait)
    import torch

    machine = {
        "cpu_count": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        **blas_info(),
    }
    try:
        import numba

        machine["numba"] = numba.__version__
    except ImportError:
        machine["numba"] = None
    results: dict[str, Any] = {"gblup": {}, "bayesb": None, "mlp": None}

    def write_json() -> dict[str, Any]:
        load["load1_now"] = load1()
        doc = {
            "benchmark": "predict_speed",
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine,
            "load": load,
            "params": {
                "sizes": sizes,
                "markers": args.markers,
                "bayes_n": bayes_n,
                "bayes_iters": args.iters,
                "mlp_epochs": args.epochs,
                "reps": args.reps,
                "seed": args.seed,
                "quick": args.quick,
                "h2": H2,
                "n_qtl": N_QTL,
                "genotypes": "int8 dosages binomial(2, p), p ~ U(0.05, 0.5), no LD",
                "gblup_ratio": "ours = GBLUP().fit(X, y, ploidy=2) (GEBVs as train_gebv_) from int8 X "
                "(float32 conversion, G, eigh, REML, reliabilities, GEBVs, marker effects); "
                "reference = numpy Xf @ Xf.T (Xf: float32 copy of X, copy not timed) + "
                "numpy.linalg.eigh of it in float64; min of reps each; goal <= 1.3",
                "bayesb_ratio": "seconds per Gibbs iteration (difference of two chain lengths) "
                "/ one float32 Xf.T @ r pass over the whole n x m matrix",
                "mlp_ratio": "seconds per epoch (difference of fits of 1 and 1+epochs epochs) / "
                "one forward+backward of the training set through the same layers in plain torch",
                "memory": "rise of the case's peak RSS (VmHWM) over its RSS after loading X, in a "
                "fresh subprocess; copies of X as int8 and as float32",
            },
            "results": results,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=2) + "\n")
        log(f"wrote {args.out}")
        return doc

    workdir = Path(tempfile.mkdtemp(prefix="bench-predict-"))
    try:
        log(f"simulating {sizes[-1]:,} x {args.markers:,} int8 dosages (seed {args.seed})")
        t0 = time.perf_counter()
        X_all, p = simulate(max(sizes[-1], bayes_n), args.markers, args.seed)
        dirs: dict[int, Path] = {}
        for n in sorted({*sizes, bayes_n}):
            d = workdir / f"n{n}"
            d.mkdir()
            X = X_all[:n]
            y, g = trait(X, p, args.seed)
            np.save(d / "X.npy", X)
            np.save(d / "y.npy", y)
            np.save(d / "g.npy", g)
            dirs[n] = d
        del X_all
        log(f"simulated in {time.perf_counter() - t0:.0f} s; load {load1():.2f}")

        if "gblup" not in skip:
            for n in sizes:
                log(f"GBLUP n={n:,}, m={args.markers:,}")
                results["gblup"][str(n)] = bench_gblup(dirs[n], args.reps)
                r = results["gblup"][str(n)]
                log(f"GBLUP n={n:,}: ours {r['ours_seconds']:.2f} s / reference "
                    f"{r['reference_seconds']:.2f} s = {r['ratio']:.2f}")  # fmt: skip
                write_json()

        if "bayesb" not in skip:
            log(f"BayesB n={bayes_n:,}, m={args.markers:,}: {args.iters} iterations")
            with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
                res = run_child(
                    ["--child", "bayesb", "--data", str(dirs[bayes_n]),
                     "--iters", ",".join(map(str, args.iters))],
                    env={"NUMBA_CACHE_DIR": cache},
                )  # fmt: skip
            results["bayesb"] = {"n": bayes_n, "m": args.markers, **_rounded(res)}
            log(f"BayesB: {res['seconds_per_1000_iter']:.1f} s / 1000 iterations, "
                f"ratio {res['ratio']:.2f} to one float32 pass")  # fmt: skip
            write_json()

        if "mlp" not in skip:
            results["mlp"] = {"cpu": None, "cuda": None}
            devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
            for dev in devices:
                log(f"MLP on {dev}, n={bayes_n:,}, m={args.markers:,}")
                res = run_child(["--child", "mlp", "--data", str(dirs[bayes_n]),
                                 "--epochs", str(args.epochs), "--device", dev])  # fmt: skip
                results["mlp"][dev] = {"n": bayes_n, "m": args.markers, **_rounded(res)}
                log(f"MLP {dev}: {res['seconds_per_epoch']:.2f} s/epoch, ratio {res['ratio']:.2f}")
                write_json()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    doc = write_json()
    print_table(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
