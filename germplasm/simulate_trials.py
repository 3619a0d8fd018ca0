"""Trials of the germplasm simulator: studies, field layouts and phenotypes in the long layout.

A phenotype is ``mean + g + study + replicate + residual`` with residual
variance ``(1 - h2) sd^2``, clipped to the variable's scale, mapped to its
categories for ordinal variables, rounded and written as text, with about
2 % left out as missing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from breedhub.germplasm.simulate_breeding import Simulator
from breedhub.germplasm.simulate_draws import PRESENT, choice, random_date
from breedhub.germplasm.simulate_profiles import SEED_LOCS
from breedhub.germplasm.traits import Variable

__all__ = ["OBSERVATION_COLUMNS", "empty_table", "simulate_observations"]

OBSERVATION_COLUMNS = (
    "trial", "study", "location", "year", "season", "instcode", "accenumb", "unit",
    "replicate", "block", "row", "col", "variable", "value", "date",
)  # fmt: skip


def empty_table(columns: Sequence[str]) -> pl.DataFrame:
    """A table of text ``columns`` without rows."""
    return pl.DataFrame({c: pl.Series(c, [], dtype=pl.String) for c in columns})


def _trials(sim: Simulator, n_trials: int) -> list[dict[str, Any]]:
    """The studies: one dict per trial x location x season."""
    rng, p = sim.rng, sim.prof
    locs = list(p.locations or SEED_LOCS)
    key = sim.sp.key.upper().replace("_", "-")
    studies: list[dict[str, Any]] = []
    used: set[tuple[int, str]] = set()
    for t in range(n_trials):
        year = PRESENT.year - t // 2 - int(rng.integers(0, 2))
        home = [loc for loc in locs if loc[1] == "CHN"]
        loc = choice(rng, home if rng.random() < 0.85 else locs)
        while (year, loc[0]) in used:
            loc = choice(rng, locs)
            if all((year, x[0]) in used for x in locs):
                year -= 1
        used.add((year, loc[0]))
        trial = f"{key}-{year}-{loc[0]}"
        sites = [(loc[0], choice(rng, p.seasons))]
        if rng.random() < 0.6:
            if len(p.seasons) > 1 and rng.random() < 0.5:
                sites.append((loc[0], choice(rng, [s for s in p.seasons if s != sites[0][1]])))
            else:
                other = [x for x in locs if x[0] != loc[0]]
                sites.append((choice(rng, other)[0], sites[0][1]))
        for place, season in sites:
            studies.append({"trial": trial, "study": f"{trial}-{place}-{season[0]}" if place != loc[0]
                            else f"{trial}-{season[0]}", "location": place, "year": year, "season": season})  # fmt: skip
    return studies


def simulate_observations(
    sim: Simulator, nums: list[str], n_trials: int, n_reps: int
) -> pl.DataFrame:
    """The phenotypes of ``n_trials`` trials of ``n_reps`` replicates, as text columns."""
    rng, variables = sim.rng, sim.vars
    if not variables or n_trials == 0:
        return empty_table(OBSERVATION_COLUMNS)
    insts = [c for c, _, _ in sim.prof.institutes]
    sd = np.array([v.sd for v in variables])
    h2 = np.array([v.heritability for v in variables])
    mean = np.array([v.mean for v in variables])
    sd_e = sd * np.sqrt(1 - h2)
    reps = 1 if sim.animal else n_reps
    frames: list[pl.DataFrame] = []
    n = sim.n
    for st in _trials(sim, n_trials):
        share = rng.uniform(0.6, 0.8)
        chosen = np.sort(rng.choice(n, size=max(2, int(round(share * n))), replace=False))
        m = len(chosen)
        study_eff = rng.normal(0, 0.5 * sd)
        ncol = max(1, int(math.ceil(math.sqrt(m))))
        block_size = max(5, min(20, m // 10))
        acc_idx, rep_col, unit_no, blk, row, col = [], [], [], [], [], []
        for r in range(reps):
            order = chosen if sim.animal else rng.permutation(chosen)
            plots = np.arange(m)
            acc_idx.append(order)
            rep_col.append(np.full(m, r + 1))
            unit_no.append(r * m + plots + 1)
            blk.append(r * (m // block_size + 1) + plots // block_size + 1)
            rows_per_rep = (m + ncol - 1) // ncol
            row.append(r * rows_per_rep + plots // ncol + 1)
            col.append(plots % ncol + 1)
        a = np.concatenate(acc_idx)
        rep = np.concatenate(rep_col)
        rep_eff = rng.normal(0, 0.15 * sd, size=(reps, len(variables)))
        resid = rng.normal(0, 1, size=(len(a), len(variables))) * sd_e
        y = mean + sim.g[a] + study_eff + rep_eff[rep - 1] + resid
        units = np.concatenate(unit_no)
        season, m0, m1 = st["season"]
        base_days = [random_date(rng, st["year"], st["year"], m0, m1) for _ in variables]
        if sim.animal:
            unit_names = np.array(nums, dtype=object)[a]
            pens = (np.arange(len(a)) // 12 + 1).astype(str)
            block_s, row_s, col_s = pens, np.full(len(a), ""), np.full(len(a), "")
        else:
            unit_names = np.array([f"{st['study']}-P{u:04d}" for u in units], dtype=object)
            block_s = np.concatenate(blk).astype(str)
            row_s, col_s = np.concatenate(row).astype(str), np.concatenate(col).astype(str)
        for v_i, var in enumerate(variables):
            vals = _finish(y[:, v_i], var)
            keep = rng.random(len(a)) >= 0.02
            jitter = rng.integers(0, 4, size=len(a))
            dates = [(base_days[v_i] + dt.timedelta(days=int(d))) for d in jitter]
            dates_s = np.array([min(d, PRESENT).isoformat() for d in dates], dtype=object)
            frames.append(pl.DataFrame({
                "trial": st["trial"], "study": st["study"], "location": st["location"],
                "year": str(st["year"]), "season": season,
                "instcode": np.array([insts[sim.accs[j].inst] for j in a], dtype=object)[keep],
                "accenumb": np.array(nums, dtype=object)[a][keep],
                "unit": unit_names[keep], "replicate": rep.astype(str)[keep], "block": block_s[keep],
                "row": row_s[keep], "col": col_s[keep], "variable": var.name, "value": vals[keep],
                "date": dates_s[keep],
            }, schema=dict.fromkeys(OBSERVATION_COLUMNS, pl.String)))  # fmt: skip
    return pl.concat(frames, how="vertical")


def _decimals(var: Variable) -> int:
    if var.data_type != "numerical" or var.unit in ("d", "count", "score"):
        return 0
    return int(np.clip(2 - math.floor(math.log10(max(var.sd, 1e-9))), 0, 2))


def _finish(y: np.ndarray, var: Variable) -> np.ndarray:
    """Clip to the scale, map to categories, round and format as text."""
    lo = -np.inf if var.min is None else var.min
    hi = np.inf if var.max is None else var.max
    y = np.clip(y, lo, hi)
    if var.categories:
        cats = np.array(sorted(float(c["value"]) for c in var.categories))
        y = cats[np.abs(y[:, None] - cats[None, :]).argmin(axis=1)]
    d = _decimals(var)
    y = np.round(y, d)
    if d == 0:
        return y.astype(np.int64).astype(str).astype(object)
    return np.array([f"{v:.{d}f}" for v in y], dtype=object)
