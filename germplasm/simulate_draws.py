"""Random draws of the germplasm simulator: shares, choices, dates, MCPD dates, coordinates.

Every date drawn lies on or before :data:`PRESENT`, the simulated "today".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["PRESENT", "choice", "dms", "mcpd_date", "pick", "random_date"]

PRESENT = dt.date(2024, 12, 31)
"""The simulated "today": no simulated date lies after it."""


def pick(rng: np.random.Generator, shares: dict[str, float] | Sequence[tuple[str, float]]) -> str:
    items = list(shares.items()) if isinstance(shares, dict) else list(shares)
    p = np.array([w for _, w in items], dtype=float)
    return items[int(rng.choice(len(items), p=p / p.sum()))][0]


def choice(rng: np.random.Generator, seq: Sequence[Any]) -> Any:
    return seq[int(rng.integers(len(seq)))]


def random_date(rng: np.random.Generator, y0: int, y1: int, m0: int = 1, m1: int = 12) -> dt.date:
    """A random day in months m0..m1 of a year in [y0, y1], never after PRESENT."""
    year = int(rng.integers(y0, y1 + 1))
    start = dt.date(year, m0, 1)
    end = dt.date(year + (m1 == 12), m1 % 12 + 1, 1) - dt.timedelta(days=1)
    end = min(end, PRESENT)
    if start > end:
        start = end
    return start + dt.timedelta(days=int(rng.integers((end - start).days + 1)))


def mcpd_date(rng: np.random.Generator, d: dt.date, p_no_day: float = 0.12) -> str:
    u = rng.random()
    if u < p_no_day:
        return f"{d.year:04d}{d.month:02d}--"
    if u < p_no_day * 1.25:
        return f"{d.year:04d}----"
    return d.strftime("%Y%m%d")


def dms(x: float, lat: bool) -> str:
    hemi = ("N" if x >= 0 else "S") if lat else ("E" if x >= 0 else "W")
    a = abs(x)
    d = int(a)
    m = int((a - d) * 60)
    s = min(59, int(round(((a - d) * 60 - m) * 60)))
    return f"{d:02d}{m:02d}{s:02d}{hemi}" if lat else f"{d:03d}{m:02d}{s:02d}{hemi}"


# ---------------------------------------------------------------------------
# The simulation
# ---------------------------------------------------------------------------
