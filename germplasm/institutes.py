"""Institutes: the holders, breeders, collectors and donors named by WIEWS codes.

An institute is known by its FAO WIEWS code (MCPD descriptor INSTCODE): the
ISO 3166-1 alpha-3 code of its country and a number, ``PHL001`` (IRRI),
``USA022`` (NPGS), in capitals. The MCPD importer checks codes with the same
pattern (:data:`WIEWS_PATTERN`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from breedhub.germplasm.db import transaction
from breedhub.germplasm.models import Institute

__all__ = [
    "WIEWS_PATTERN",
    "check_institute_code",
    "list_institutes",
    "save_institute",
    "upsert_institutes",
]

#: A FAO WIEWS institute code: 3 capital letters (ISO 3166-1 alpha-3) and 3 or 4 digits.
WIEWS_PATTERN = r"^[A-Z]{3}[0-9]{3,4}$"
_WIEWS = re.compile(WIEWS_PATTERN, re.ASCII)


def upsert_institutes(engine: Engine, rows: Iterable[tuple[str, str, str]]) -> int:
    """Create or rename institutes from ``(code, name, country)``; return how many changed."""
    changed = 0
    with transaction(engine) as s:
        have = {i.code: i for i in s.scalars(select(Institute))}
        for code, name, country in rows:
            inst = have.get(code)
            if inst is None:
                inst = Institute(code=code)
                s.add(inst)
                have[code] = inst
            if (inst.name, inst.country) != (name, country):
                inst.name, inst.country = name, country
                changed += 1
    return changed


def check_institute_code(code: str) -> str:
    """``code`` in capitals if it is a FAO WIEWS institute code.

    Parameters
    ----------
    code
        As typed; surrounding spaces are removed and letters capitalised.

    Returns
    -------
    str
        The code, e.g. ``PHL001``.

    Raises
    ------
    ValueError
        If it is not 3 letters followed by 3 or 4 digits.

    Examples
    --------
    >>> check_institute_code(" phl001 ")
    'PHL001'
    >>> check_institute_code("IRRI")
    Traceback (most recent call last):
    ...
    ValueError: institute code 'IRRI' is not a FAO WIEWS code: 3 letters (the country's ISO 3166-1 alpha-3 code) and 3 or 4 digits, e.g. PHL001
    """
    if not isinstance(code, str):
        raise TypeError(f"code must be text, not {type(code).__name__}")
    norm = code.strip().upper()
    if not _WIEWS.fullmatch(norm):
        shown = code if len(code) <= 20 else code[:20] + "…"
        raise ValueError(
            f"institute code {shown!r} is not a FAO WIEWS code: 3 letters (the country's"
            " ISO 3166-1 alpha-3 code) and 3 or 4 digits, e.g. PHL001"
        )
    return norm


def _check_country(country: str, code: str) -> str:
    from breedhub.germplasm.mcpd import countries

    norm = country.strip().upper()
    if not norm:
        # A WIEWS code starts with its country's code.
        return code[:3] if code[:3] in countries() else ""
    if norm not in countries():
        shown = country if len(country) <= 20 else country[:20] + "…"
        raise ValueError(
            f"country {shown!r} is not an ISO 3166-1 alpha-3 code (e.g. CHN, PHL, NLD)"
        )
    return norm


def _check_name(name: str) -> str:
    name = name.strip()
    bad = next((c for c in name if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise ValueError(
            f"institute name must not contain control characters (found U+{ord(bad):04X})"
        )
    if len(name) > 300:
        raise ValueError(f"institute name must be at most 300 characters long, not {len(name)}")
    return name


def save_institute(
    session: Session, code: str, *, name: str, country: str = ""
) -> tuple[Institute, bool]:
    """Add the institute ``code``, or rename it (name and country) if it exists.

    Parameters
    ----------
    session
        An open session (the caller commits).
    code
        Its FAO WIEWS code (:func:`check_institute_code`).
    name
        Its full name (at most 300 characters).
    country
        ISO 3166-1 alpha-3 code; empty: the code's first three letters when
        they name a country.

    Returns
    -------
    (Institute, bool)
        The institute, and True when it was created.

    Raises
    ------
    ValueError
        For a malformed code, an unknown country or a bad name.
    """
    code = check_institute_code(code)
    name = _check_name(name)
    country = _check_country(country, code)
    inst = session.scalars(select(Institute).where(Institute.code == code)).first()
    created = inst is None
    if inst is None:
        inst = Institute(code=code)
        session.add(inst)
    inst.name, inst.country = name, country
    session.flush()
    return inst, created


def list_institutes(session: Session) -> list[Institute]:
    """Every institute, by code."""
    return list(session.scalars(select(Institute).order_by(Institute.code)))
