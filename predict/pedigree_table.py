"""A pedigree as given, checked and sorted: :class:`Pedigree` and :func:`prepare_pedigree`.

Ids are read one way everywhere (``1``, ``1.0`` and ``"1"`` are the same id;
``None``, NaN, ``""`` and ``"0"`` an unknown parent); a pedigree is checked
once (lengths, duplicates, self-parents, missing parents, loops) and sorted
parents-before-offspring, so the relationship functions of
:mod:`predict.pedigree` and :mod:`predict.single_step` can trust it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from breedhub.predict.exceptions import InputError

__all__ = ["UNKNOWN_PARENT", "Pedigree", "prepare_pedigree"]

UNKNOWN_PARENT = ("", "0")
"""Parent values read as *unknown* (besides ``None`` and NaN)."""

_SHOW = 8  # how many offending entries a message lists


@dataclass(frozen=True)
class Pedigree:
    """A checked pedigree, made by :func:`prepare_pedigree`.

    Attributes
    ----------
    ids
        Every individual: the input ids in their input order, then the
        founders added by ``add_founders=True`` in the order first met.
        Matrices and vectors returned by this module are indexed like this.
    sire, dam
        Index into :attr:`ids` of each individual's parents, -1 if unknown.
    order
        A topological order: ``ids[order[0]], ids[order[1]], ...`` lists
        parents before their offspring (by generation, then input order).
    generation
        0 for founders, else 1 + the larger generation of the parents.
    n_input
        How many of :attr:`ids` were given (the rest are added founders).
    """

    ids: tuple[str, ...]
    sire: np.ndarray
    dam: np.ndarray
    order: np.ndarray
    generation: np.ndarray
    n_input: int
    index: dict[str, int] = field(repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not self.index:
            object.__setattr__(self, "index", {x: i for i, x in enumerate(self.ids)})

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, ids: Sequence[Any], *, name: str = "ids") -> np.ndarray:
        """Indexes into :attr:`ids` of ``ids``; InputError naming any not in the pedigree."""
        keys = [_key(x) for x in _as_list(ids, name)]
        missing = [k for k in keys if k not in self.index]
        if missing:
            raise InputError(
                f"{name}: {len(missing)} ids are not in the pedigree: {_names(missing)}; "
                "add them to the pedigree (as founders if their parents are unknown)"
            )
        return np.array([self.index[k] for k in keys], dtype=np.int64)


# ---------------------------------------------------------------- parsing


def _as_list(values: Any, name: str) -> list[Any]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of ids, not {type(values).__name__}")
    return list(values)


def _is_unknown(x: Any) -> bool:
    if x is None:
        return True
    if isinstance(x, float | np.floating) and math.isnan(x):
        return True
    return _key(x) in UNKNOWN_PARENT


def _key(x: Any) -> str:
    """One id as a string: ``1``, ``1.0`` and ``"1"`` are the same id."""
    if isinstance(x, float | np.floating) and math.isfinite(x) and float(x).is_integer():
        return str(int(x))
    if isinstance(x, bytes):
        return x.decode()
    return str(x)


def _names(keys: Sequence[str]) -> str:
    shown = ", ".join(repr(k) for k in keys[:_SHOW])
    return shown + (f" and {len(keys) - _SHOW} more" if len(keys) > _SHOW else "")


def prepare_pedigree(
    ids: Sequence[Any],
    sires: Sequence[Any],
    dams: Sequence[Any],
    *,
    add_founders: bool = False,
) -> Pedigree:
    """Check a pedigree and sort it parents-before-offspring.

    Parameters
    ----------
    ids
        One id per individual (strings or integers; ``1``, ``1.0`` and ``"1"``
        are the same id).
    sires, dams
        The parents' ids, one per individual; ``None``, NaN, ``""`` or ``"0"``
        for an unknown parent. A selfed plant has the same sire and dam.
    add_founders
        Parents that are not in ``ids`` are an error unless this is true;
        then they are added as founders (both parents unknown) after the
        input ids.

    Returns
    -------
    Pedigree
        The ids in input order, parents as indexes, and a topological order.

    Raises
    ------
    TypeError
        If an argument is not a sequence.
    InputError
        If the lengths differ, an id is missing or listed twice, an individual
        is its own parent, a parent is not in ``ids`` (without
        ``add_founders``), or an individual is its own ancestor (a loop).
        The message names the ids concerned.

    Examples
    --------
    >>> ped = prepare_pedigree(["kid", "mum", "dad"], ["dad", None, None], ["mum", "0", ""])
    >>> ped.ids
    ('kid', 'mum', 'dad')
    >>> [ped.ids[i] for i in ped.order]
    ['mum', 'dad', 'kid']
    >>> prepare_pedigree(["a"], ["b"], [None], add_founders=True).ids
    ('a', 'b')
    """
    id_list = _as_list(ids, "ids")
    sire_list = _as_list(sires, "sires")
    dam_list = _as_list(dams, "dams")
    if not isinstance(add_founders, bool):
        raise TypeError(f"add_founders must be True or False, not {add_founders!r}")
    if not (len(id_list) == len(sire_list) == len(dam_list)):
        raise InputError(
            f"ids, sires and dams must have one entry per individual; got lengths "
            f"{len(id_list)}, {len(sire_list)} and {len(dam_list)}"
        )
    if not id_list:
        raise InputError("the pedigree is empty: give at least one id")

    bad = [i for i, x in enumerate(id_list) if _is_unknown(x)]
    if bad:
        raise InputError(
            f"ids at positions {', '.join(map(str, bad[:_SHOW]))} are missing (None, NaN, "
            f"'' or '0' mean an unknown parent and cannot be an id); give every individual an id"
        )
    keys = [_key(x) for x in id_list]
    index: dict[str, int] = {}
    dups: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if k in index:
            dups.setdefault(k, [index[k]]).append(i)
        else:
            index[k] = i
    if dups:
        listed = "; ".join(f"{k!r} at positions {pos}" for k, pos in list(dups.items())[:_SHOW])
        raise InputError(
            f"{len(dups)} ids are listed more than once: {listed}; keep one row per individual"
        )

    parents = [
        [None if _is_unknown(p) else _key(p) for p in column] for column in (sire_list, dam_list)
    ]
    own = [keys[i] for i in range(len(keys)) if keys[i] in (parents[0][i], parents[1][i])]
    if own:
        raise InputError(
            f"{len(own)} individuals are their own parent: {_names(own)}; "
            "fix the sire or dam of these rows"
        )

    unknown: list[str] = []
    seen: set[str] = set()
    for i in range(len(keys)):
        for p in (parents[0][i], parents[1][i]):
            if p is not None and p not in index and p not in seen:
                seen.add(p)
                unknown.append(p)
    if unknown and not add_founders:
        who = [
            keys[i] for i in range(len(keys)) if (parents[0][i] in seen) or (parents[1][i] in seen)
        ]
        raise InputError(
            f"{len(unknown)} parents are not in ids: {_names(unknown)} (parents of "
            f"{_names(who)}); add them as rows, or pass add_founders=True to add them "
            "as founders with unknown parents"
        )
    for p in unknown:
        index[p] = len(keys)
        keys.append(p)

    n = len(keys)
    n_in = len(id_list)
    sire = np.full(n, -1, dtype=np.int64)
    dam = np.full(n, -1, dtype=np.int64)
    sire[:n_in] = [-1 if p is None else index[p] for p in parents[0]]
    dam[:n_in] = [-1 if p is None else index[p] for p in parents[1]]

    generation = _generations(keys, sire, dam)
    order = np.lexsort((np.arange(n), generation)).astype(np.int64)
    return Pedigree(
        ids=tuple(keys),
        sire=sire,
        dam=dam,
        order=order,
        generation=generation,
        n_input=n_in,
        index=index,
    )


def _generations(keys: list[str], sire: np.ndarray, dam: np.ndarray) -> np.ndarray:
    """Generation numbers by Kahn's algorithm; InputError naming a loop if there is one."""
    n = len(keys)
    n_parents = (sire >= 0).astype(np.int64) + (dam >= 0)
    n_parents[(sire >= 0) & (sire == dam)] = 1  # a selfed plant waits for one parent
    children: list[list[int]] = [[] for _ in range(n)]
    for i, (s, d) in enumerate(zip(sire.tolist(), dam.tolist(), strict=True)):
        if s >= 0:
            children[s].append(i)
        if d >= 0 and d != s:
            children[d].append(i)
    waiting = n_parents.tolist()
    generation = [0] * n
    ready = [i for i in range(n) if waiting[i] == 0]
    done = 0
    while ready:
        i = ready.pop()
        done += 1
        g = generation[i] + 1
        for c in children[i]:
            if generation[c] < g:
                generation[c] = g
            waiting[c] -= 1
            if waiting[c] == 0:
                ready.append(c)
    if done < n:
        stuck = [i for i in range(n) if waiting[i] > 0]
        loop = _find_loop(stuck, sire, dam, waiting)
        raise InputError(
            f"the pedigree has a loop: {' -> '.join(keys[i] for i in loop)} "
            f"(each is a parent of the one before: an individual is its own ancestor); "
            f"{len(stuck)} individuals are on or below loops; fix the parents of "
            f"{_names([keys[i] for i in loop[:-1]])}"
        )
    return np.asarray(generation, dtype=np.int64)


def _find_loop(
    stuck: list[int], sire: np.ndarray, dam: np.ndarray, waiting: list[int]
) -> list[int]:
    """Walk up from a stuck individual through stuck parents until an id repeats."""
    path: list[int] = []
    where: dict[int, int] = {}
    i = stuck[0]
    while i not in where:
        where[i] = len(path)
        path.append(i)
        s, d = int(sire[i]), int(dam[i])
        i = s if s >= 0 and waiting[s] > 0 else d
    cycle = path[where[i] :]
    return cycle + [cycle[0]]
