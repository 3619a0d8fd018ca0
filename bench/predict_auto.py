"""Model choice by nested CV and the G×E model on the CIMMYT wheat data, on BGLR's 10 folds.

599 wheat lines x 1,279 DArT markers, grain yield in four environments
(GY_E1..GY_E4), the folds BGLR ships (wheat.sets). Per environment: every
candidate method's mean r over the 10 folds, the outer r of the nested-CV
procedure (``--method auto``, within ``--budget`` per environment), and the G×E
GBLUP's r under CV1 (new lines) and CV2 (tested lines, a missing environment),
each with its time. Goals (issue 15): the procedure's outer r within 0.01 of
the best single method in each environment and above GBLUP on average; the
G×E model above single-environment GBLUP on average.

    python bench/predict_auto.py [--budget 150s] [--envs GY_E1] [--methods gblup,rkhs] [--no-gxe]

Writes bench/results/predict_auto.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

# This file is named like no package, but keep bench/ off the import path all the same.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from breedhub.predict.auto import candidates_named, default_candidates, nested_cv, parse_budget  # noqa: E402
from breedhub.predict.cv import cross_validate  # noqa: E402
from breedhub.predict.gxe import gxe_cv  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gs" / "bglr_wheat"
ENVS = ["GY_E1", "GY_E2", "GY_E3", "GY_E4"]
FOLDS = "cv_fold_bglr"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--envs", default=",".join(ENVS))
    ap.add_argument("--methods", help="candidates (default: every one worth its time here)")
    ap.add_argument("--budget", default="150s", help="time budget of auto per environment")
    ap.add_argument("--inner-folds", type=int, default=5)
    ap.add_argument("--no-gxe", action="store_true")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "predict_auto.json"
    )
    args = ap.parse_args()
    envs = args.envs.split(",")
    cands = candidates_named(args.methods.split(",")) if args.methods else default_candidates()
    budget = parse_budget(args.budget)
    X = np.load(args.data / "genotypes.npz")["X"]
    ph = pl.read_csv(args.data / "phenotypes.csv")
    folds = ph[FOLDS].to_numpy()
    started = time.perf_counter()
    single: dict[str, dict[str, dict]] = {c.name: {} for c in cands}
    auto: dict[str, dict] = {}
    for env in envs:
        y = ph[env].to_numpy().astype(float)
        for c in cands:
            res = cross_validate(X, y, method=c.method, params=dict(c.params), ploidy=1, fold_ids=folds,
                                 trait=env)  # fmt: skip
            single[c.name][env] = {
                "mean_r": res.mean_r, "sd_r": res.sd_r, "bias": res.bias, "fold_r": res.fold_r,
                "seconds": res.seconds, "effective_params": res.effective_params,
                "warnings": res.warnings,
            }  # fmt: skip
            log(
                f"{env} {c.name:<9} mean r {res.mean_r:.3f} (sd {res.sd_r:.3f}) in {res.seconds:.1f} s"
            )
        res = nested_cv(X, y, ploidy=1, candidates=cands, fold_ids=folds, inner_folds=args.inner_folds,
                        budget_s=budget, trait=env, progress=log)  # fmt: skip
        best = max(single, key=lambda m: single[m][env]["mean_r"])
        auto[env] = {
            "mean_r": res.mean_r, "sd_r": res.sd_r, "bias": res.bias, "fold_r": res.fold_r,
            "seconds": res.seconds, "chosen_per_fold": {str(f.fold): f.chosen for f in res.folds},
            "final": res.final["name"], "inner": res.inner, "notes": res.notes,
            "best_single": best, "best_single_r": single[best][env]["mean_r"],
            "gap_to_best": single[best][env]["mean_r"] - res.mean_r,
            "within_0.01_of_best": bool(single[best][env]["mean_r"] - res.mean_r <= 0.01),
        }  # fmt: skip
        log(f"{env} auto outer r {res.mean_r:.3f} (best single {best} {single[best][env]['mean_r']:.3f}) "
            f"in {res.seconds:.1f} s; final {res.final['name']}")  # fmt: skip
    gxe: dict[str, dict] = {}
    if not args.no_gxe and len(envs) > 1:
        Y = ph.select(envs).to_numpy().astype(float)
        for scheme in ("cv1", "cv2"):
            res = gxe_cv(
                X, Y, ploidy=1, environments=envs, scheme=scheme, fold_ids=folds, progress=log
            )
            gxe[scheme] = {
                "env": res.env, "mean_r": res.mean_r, "single_mean_r": res.single_mean_r,
                "variance_components": res.variance_components, "seconds": res.seconds,
            }  # fmt: skip
            log(f"G×E {scheme}: mean r {res.mean_r:.3f} vs single-environment GBLUP "
                f"{res.single_mean_r:.3f} in {res.seconds:.1f} s")  # fmt: skip
    total = time.perf_counter() - started
    names = list(single)
    print()
    head = f"{'env':<7}" + "".join(f"{n:>10}" for n in names) + f"{'auto':>10}"
    head += f"{'gxe CV1':>10}{'gxe CV2':>10}" if gxe else ""
    print(head)
    for env in envs:
        row = f"{env:<7}" + "".join(f"{single[n][env]['mean_r']:>10.3f}" for n in names)
        row += f"{auto[env]['mean_r']:>10.3f}"
        if gxe:
            row += "".join(f"{gxe[s]['env'][env]['mean_r']:>10.3f}" for s in ("cv1", "cv2"))
        print(row)
    mean = {n: float(np.mean([single[n][e]["mean_r"] for e in envs])) for n in names}
    row = f"{'mean':<7}" + "".join(f"{mean[n]:>10.3f}" for n in names)
    auto_mean = float(np.mean([auto[e]["mean_r"] for e in envs]))
    row += f"{auto_mean:>10.3f}" + (
        "".join(f"{gxe[s]['mean_r']:>10.3f}" for s in ("cv1", "cv2")) if gxe else ""
    )
    print(row)
    secs = f"{'s/env':<7}" + "".join(
        f"{np.mean([single[n][e]['seconds'] for e in envs]):>10.1f}" for n in names
    )
    secs += f"{np.mean([auto[e]['seconds'] for e in envs]):>10.1f}"
    secs += "".join(f"{gxe[s]['seconds']:>10.1f}" for s in ("cv1", "cv2")) if gxe else ""
    print(secs + "   (G×E: all environments together)")
    goals = {
        "auto_within_0.01_of_best_each_env": all(auto[e]["within_0.01_of_best"] for e in envs),
        "auto_above_gblup_on_average": bool("gblup" in mean and auto_mean > mean["gblup"]),
    }
    if gxe:
        for s in ("cv1", "cv2"):
            goals[f"gxe_{s}_above_single_gblup_on_average"] = bool(
                gxe[s]["mean_r"] > gxe[s]["single_mean_r"]
            )
    print("goals:", json.dumps(goals))
    out = {
        "benchmark": "predict_auto",
        "data": "CIMMYT wheat, 599 lines x 1279 DArT markers, GY in 4 environments, BGLR folds (wheat.sets)",
        "command": "python bench/predict_auto.py " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__},
        "budget_s_per_env": budget, "inner_folds": args.inner_folds,
        "candidates": [{"name": c.name, "method": c.method, "params": c.params} for c in cands],
        "single": single, "auto": auto, "gxe": gxe, "mean_r": {**mean, "auto": auto_mean},
        "goals": goals, "seconds": total,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, default=str))
    log(f"wrote {args.out} ({total:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
