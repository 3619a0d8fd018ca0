"""Institutes: the holders, breeders, collectors and donors named by WIEWS codes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, select

from breedhub.germplasm.db import transaction
from breedhub.germplasm.models import Institute


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
