"""Argument checks shared by every package: one rule for integers, numbers, paths and ploidy.

Each check returns the value in its plain Python form, or raises
:class:`~breedhub.base.errors.ArgumentTypeError` (also a ``TypeError``) for the
wrong kind and :class:`~breedhub.base.errors.ArgumentError` (also a
``ValueError``) for a bad value, with a message that names the argument, the
value and the fix.
"""

from __future__ import annotations

import math
import os
from numbers import Integral, Real
from pathlib import Path

from breedhub.base.errors import ArgumentError, ArgumentTypeError


def _is_int(value: object) -> bool:
    # bool is an Integral, but True as a sample count is always a slip
    return isinstance(value, Integral) and not isinstance(value, bool)


def check_int(
    name: str,
    value: object,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    fix: str = "",
) -> int:
    """``value`` as an ``int``, checked to lie in ``[minimum, maximum]``.

    Parameters
    ----------
    name
        The argument's name, as the caller wrote it.
    value
        Any integer (numpy integers too); bools and floats are refused.
    minimum, maximum
        Inclusive bounds; ``None`` for none.
    fix
        Appended to the message of a value out of range: how to fix the call.

    Returns
    -------
    int

    Raises
    ------
    ArgumentTypeError
        Not an integer.
    ArgumentError
        Out of range.

    Examples
    --------
    >>> check_int("threads", 4, minimum=1)
    4
    >>> check_int("threads", 0, minimum=1)
    Traceback (most recent call last):
    ...
    breedhub.base.errors.ArgumentError: threads must be at least 1, not 0
    """
    if not _is_int(value):
        raise ArgumentTypeError(f"{name} must be an integer, not {type(value).__name__} {value!r}")
    v = int(value)  # type: ignore[call-overload]
    if minimum is not None and maximum is not None and not minimum <= v <= maximum:
        problem = f"{name} must lie in [{minimum}, {maximum}], not {v}"
    elif minimum is not None and v < minimum:
        problem = f"{name} must be at least {minimum}, not {v}"
    elif maximum is not None and v > maximum:
        problem = f"{name} must be at most {maximum}, not {v}"
    else:
        return v
    raise ArgumentError(f"{problem}; {fix}" if fix else problem)


def check_float(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """``value`` as a finite ``float`` within the given bounds.

    ``open_low``/``open_high`` make a bound exclusive.

    Examples
    --------
    >>> check_float("h2", 0.5, low=0, high=1, open_low=True)
    0.5
    >>> check_float("h2", 0, low=0, high=1, open_low=True)
    Traceback (most recent call last):
    ...
    breedhub.base.errors.ArgumentError: h2 must be > 0 and <= 1, not 0
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ArgumentTypeError(f"{name} must be a number, not {type(value).__name__} {value!r}")
    v = float(value)
    bad_low = low is not None and (v <= low if open_low else v < low)
    bad_high = high is not None and (v >= high if open_high else v > high)
    if not math.isfinite(v) or bad_low or bad_high:
        lo = "" if low is None else f"{'>' if open_low else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if open_high else '<='} {high:g}"
        bounds = " and ".join(s for s in (lo, hi) if s) or "finite"
        raise ArgumentError(f"{name} must be {bounds}, not {value!r}")
    return v


def check_ploidy(ploidy: object, *, name: str = "ploidy", even: bool = False) -> int:
    """A ploidy: a positive integer, required (nothing here defaults to diploid).

    Parameters
    ----------
    ploidy
        Homologues per individual: 1, 2, 4, 6...
    name
        The argument's name in the message.
    even
        Require 1 or an even number, as meiosis (gene drop, gametes) does.

    Examples
    --------
    >>> check_ploidy(6)
    6
    >>> check_ploidy(None)
    Traceback (most recent call last):
    ...
    breedhub.base.errors.ArgumentTypeError: ploidy is required (1, 2, 4, 6...): take it from the species registry; nothing assumes diploidy
    """
    if ploidy is None:
        raise ArgumentTypeError(
            f"{name} is required (1, 2, 4, 6...): take it from the species registry; "
            "nothing assumes diploidy"
        )
    p = check_int(name, ploidy, minimum=1)
    if even and p > 1 and p % 2:
        raise ArgumentError(
            f"{name} must be 1 or even (2, 4, 6...), not {p}: meiosis pairs homologues"
        )
    return p


def check_path(name: str, value: object, *, exists: bool = False) -> Path:
    """``value`` as a :class:`~pathlib.Path`; with ``exists``, it must be a file.

    Examples
    --------
    >>> check_path("vcf", "calls.vcf.gz")
    PosixPath('calls.vcf.gz')
    """
    if not isinstance(value, str | os.PathLike):
        raise ArgumentTypeError(
            f"{name} must be a path (str or os.PathLike), not {type(value).__name__}"
        )
    path = Path(value)
    if exists and not path.is_file():
        raise ArgumentError(f"{name}: {path}: no such file")
    return path


def resolve_ploidy(species_ploidy: int | None, override: int | None, *, species: str = "") -> int:
    """The ploidy to use: an explicit ``override`` first, else the species' own.

    A missing ploidy is an error, never a diploid guess.

    Examples
    --------
    >>> resolve_ploidy(6, None, species="oil-tea")
    6
    >>> resolve_ploidy(2, 4)
    4
    """
    if override is not None:
        return check_ploidy(override)
    if species_ploidy is None:
        what = (
            f"species {species!r} has no ploidy in the registry" if species else "no ploidy given"
        )
        raise ArgumentError(
            f"{what}: give the ploidy (--ploidy) or a species whose registry entry has one"
        )
    return check_ploidy(species_ploidy)
