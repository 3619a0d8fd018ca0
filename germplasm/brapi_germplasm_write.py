"""BrAPI v2.1 germplasm writes: ``POST /germplasm`` and ``PUT /germplasm/{id}`` as passport imports.

A posted ``Germplasm`` is turned into an MCPD passport row (the inverse of
:func:`germplasm.brapi_germplasm.germplasm_object`) and the rows go through
the passport import's own checks (:func:`germplasm.mcpd.validate_passport`,
the PUID conflicts) and writer (:mod:`germplasm.passport`), in the caller's
transaction: everything is written, or nothing. Every problem is reported
with the item's index in the posted list and the BrAPI field at fault.

New accessions belong to the writer's institute (an admin without one names
it in ``instituteCode``); an uploader may change only the accessions its
institute holds. A ``PUT`` changes the fields present in the body and keeps
the others; the accession number and holding institute cannot be changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from breedhub.germplasm.access import Viewer
from breedhub.germplasm.brapi_core import common_crop_name, crop_keys
from breedhub.germplasm.exceptions import GermplasmError, Problem
from breedhub.germplasm.mcpd import COLUMNS, accession_to_mcpd, format_float, validate_passport
from breedhub.germplasm.models import Accession, Institute, SpeciesRow
from breedhub.germplasm.passport import conflicting_puids, write_passport_frame
from breedhub.germplasm.reports import ImportReport
from breedhub.germplasm.species import SpeciesRegistry, default_registry
from breedhub.germplasm.tabular import ROW

__all__ = [
    "MAX_ITEMS",
    "GermplasmWriteError",
    "NotYourAccessionError",
    "add_germplasm",
    "update_germplasm",
]

#: The most germplasm one ``POST`` may add.
MAX_ITEMS = 1000

#: MCPD column -> the BrAPI Germplasm field it is written from.
FIELD_OF = {
    "PUID": "germplasmPUI", "INSTCODE": "instituteCode", "ACCENUMB": "accessionNumber",
    "GENUS": "genus", "SPECIES": "species", "SPAUTHOR": "speciesAuthority",
    "SUBTAXA": "subtaxa", "SUBTAUTHOR": "subtaxaAuthority", "ACCENAME": "germplasmName",
    "ACQDATE": "acquisitionDate", "ORIGCTY": "countryOfOriginCode",
    "DECLATITUDE": "germplasmOrigin", "DECLONGITUDE": "germplasmOrigin",
    "COORDUNCERT": "germplasmOrigin.coordinateUncertainty",
    "SAMPSTAT": "biologicalStatusOfAccessionCode", "ANCEST": "pedigree",
    "DONORCODE": "donors.donorInstituteCode", "DONORNUMB": "donors.donorAccessionNumber",
    "OTHERNUMB": "synonyms", "STORAGE": "storageTypes", "GENUS/SPECIES": "genus/species",
}  # fmt: skip
#: BrAPI text fields written to one MCPD column as they are.
_TEXT = {
    "accessionNumber": "ACCENUMB", "genus": "GENUS", "species": "SPECIES",
    "germplasmPUI": "PUID", "speciesAuthority": "SPAUTHOR", "subtaxa": "SUBTAXA",
    "subtaxaAuthority": "SUBTAUTHOR", "countryOfOriginCode": "ORIGCTY", "pedigree": "ANCEST",
    "biologicalStatusOfAccessionCode": "SAMPSTAT",
}  # fmt: skip
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


class GermplasmWriteError(GermplasmError):
    """Posted germplasm failed validation; nothing was written (HTTP 400)."""

    http_status = 400

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.row, p.column))
        n = len(self.problems)
        lines = "; ".join(_describe(p) for p in self.problems[:50])
        more = f"; and {n - 50} more" if n > 50 else ""
        super().__init__(f"{n} problem{'s' if n != 1 else ''}, nothing was written: {lines}{more}")


class NotYourAccessionError(GermplasmError):
    """An uploader changing an accession that another institute holds (HTTP 403)."""

    http_status = 403


def _describe(p: Problem) -> str:
    where = f"germplasm[{p.row - 1}]" if p.row else "body"
    field = FIELD_OF.get(p.column, p.column if p.column[:1].islower() else f"MCPD {p.column}")
    value = f" ({p.value!r})" if p.value != "" else ""
    reason = re.sub(r"\brow (\d+)", lambda m: f"item {int(m.group(1)) - 1}", p.reason)
    return f"{where}.{field}{value}: {reason}" if field else f"{where}{value}: {reason}"


class _Item:
    """One posted Germplasm being turned into an MCPD row; problems collected on the way."""

    def __init__(self, row: int, item: Mapping[str, Any], base: dict[str, str]):
        self.row, self.item, self.mcpd = row, item, dict(base)
        self.problems: list[Problem] = []

    def bad(self, field: str, value: object, reason: str) -> None:
        self.problems.append(Problem(self.row, field, str(value)[:200], reason))

    def text(self, field: str) -> str | None:
        """The field as text; ``None`` when absent (or malformed, with a problem)."""
        if field not in self.item:
            return None
        value = self.item[field]
        if value is None:
            return ""
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.bad(field, value, "must be text")
            return None
        return value.strip()

    def objects(self, field: str) -> list[Mapping[str, Any]] | None:
        value = self.item.get(field)
        if field not in self.item:
            return None
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.bad(field, "", "must be a list of objects")
            return None
        return value


def _names(it: _Item) -> None:
    """germplasmName and synonyms -> ACCENAME (name;synonyms) and OTHERNUMB."""
    name = it.text("germplasmName")
    synonyms = it.objects("synonyms")
    if name is None and synonyms is None:
        return
    stored = [n for n in it.mcpd["ACCENAME"].split(";") if n.strip()]
    first = name if name is not None else (stored[0] if stored else "")
    rest = stored[1:]
    if synonyms is not None:
        rest = []
        other: list[str] = []
        for s in synonyms:
            value = s.get("synonym")
            if not isinstance(value, str) or not value.strip() or ";" in value:
                it.bad("synonyms.synonym", value, "must be text without ';'")
                continue
            (other if s.get("type") == "OTHERNUMB" else rest).append(value.strip())
        it.mcpd["OTHERNUMB"] = ";".join(other)
    if ";" in first:
        it.bad("germplasmName", first, "must not contain ';' (give other names as synonyms)")
    it.mcpd["ACCENAME"] = ";".join([first, *rest]) if first or rest else ""


def _origin(it: _Item) -> None:
    origins = it.objects("germplasmOrigin")
    if origins is None:
        return
    it.mcpd.update(DECLATITUDE="", DECLONGITUDE="", COORDUNCERT="")
    if not origins:
        return
    if len(origins) > 1:
        it.bad("germplasmOrigin", "", "MCPD holds one collecting site per accession")
    geometry = (origins[0].get("coordinates") or {}).get("geometry") or {}
    point = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if geometry.get("type") != "Point" or not isinstance(point, list) or len(point) < 2:
        it.bad("germplasmOrigin", "", "must be a GeoJSON Point [longitude, latitude]")
        return
    lon, lat = point[0], point[1]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lon, lat)):
        it.bad("germplasmOrigin", point, "coordinates must be numbers")
        return
    it.mcpd.update(DECLATITUDE=format_float(lat), DECLONGITUDE=format_float(lon))
    uncert = origins[0].get("coordinateUncertainty")
    it.mcpd["COORDUNCERT"] = "" if uncert is None else str(uncert).strip()


def _lists(it: _Item) -> None:
    """donors -> DONORCODE/DONORNUMB; storageTypes -> STORAGE."""
    donors = it.objects("donors")
    if donors is not None:
        if len(donors) > 1:
            it.bad("donors", "", "MCPD holds one donor per accession")
        first = donors[0] if donors else {}
        it.mcpd["DONORCODE"] = str(first.get("donorInstituteCode") or "").strip()
        it.mcpd["DONORNUMB"] = str(first.get("donorAccessionNumber") or "").strip()
    storage = it.objects("storageTypes")
    if storage is not None:
        it.mcpd["STORAGE"] = ";".join(str(s.get("code") or "").strip() for s in storage)


def _taxon(it: _Item, crops: dict[str, SpeciesRow]) -> None:
    crop = it.text("commonCropName")
    if not crop:
        return
    sp = crops.get(crop_keys([crop])[0])
    if sp is None:
        it.bad("commonCropName", crop, f"unknown crop; this server has: {', '.join(sorted(crops))}")
        return
    for field, col, want in (("genus", "GENUS", sp.genus), ("species", "SPECIES", sp.species)):
        given = it.text(field)
        if given and given.lower() != want.lower():
            it.bad(field, given, f"does not match commonCropName {crop!r} ({sp.scientific_name})")
        it.mcpd[col] = given or want


def _to_mcpd(it: _Item, crops: dict[str, SpeciesRow], own_code: str | None) -> None:
    for field, col in _TEXT.items():
        value = it.text(field)
        if value is not None:
            it.mcpd[col] = value
    date = it.text("acquisitionDate")
    if date is not None:
        m = _ISO_DATE.fullmatch(date)
        it.mcpd["ACQDATE"] = "".join(m.groups()) if m else date
    code = it.text("instituteCode")
    if code and own_code and code.upper() != own_code:
        it.bad(
            "instituteCode", code, f"the germplasm you write belongs to your institute, {own_code}"
        )
    elif code:
        it.mcpd["INSTCODE"] = code.upper()
    _names(it)
    _origin(it)
    _lists(it)
    _taxon(it, crops)


def _frame(rows: Sequence[dict[str, str]]) -> pl.DataFrame:
    df = pl.DataFrame(
        [{c: r.get(c, "") for c in COLUMNS} for r in rows],
        schema={c: pl.String for c in COLUMNS},
        orient="row",
    )
    return df.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


def _fill_puids(df: pl.DataFrame) -> pl.DataFrame:
    """As the passport import does: an empty PUID becomes INSTCODE:ACCENUMB:GENUS."""
    return df.with_columns(
        PUID=pl.when(pl.col("PUID") == "")
        .then(pl.concat_str(["INSTCODE", "ACCENUMB", "GENUS"], separator=":"))
        .otherwise(pl.col("PUID"))
    )


def _own_code(session: Session, viewer: Viewer) -> str | None:
    if viewer.institute_id is None:
        return None
    return session.scalar(select(Institute.code).where(Institute.id == viewer.institute_id))


def _crops(session: Session) -> dict[str, SpeciesRow]:
    crops = ((common_crop_name(sp), sp) for sp in session.scalars(select(SpeciesRow)))
    return {name: sp for name, sp in crops if name is not None}


def _validate(session: Session, items: list[_Item], registry: SpeciesRegistry) -> pl.DataFrame:
    """The items as one MCPD table, checked as a passport file is; raise on any problem."""
    problems = [p for it in items for p in it.problems]
    df = _frame([it.mcpd for it in items])
    problems += validate_passport(df, registry)[0]
    df = _fill_puids(df)
    if not problems:
        problems += conflicting_puids(session, df)
    if problems:
        raise GermplasmWriteError(problems)
    return df


def add_germplasm(
    session: Session,
    body: Sequence[Any],
    viewer: Viewer,
    *,
    registry: SpeciesRegistry | None = None,
) -> list[int]:
    """Validate posted BrAPI germplasm and insert them; return their DbIds in order.

    Parameters
    ----------
    session
        The request's session: the caller commits (or rolls back on an error).
    body
        The posted list of ``GermplasmNewRequest`` objects.
    viewer
        The writer (role ``uploader`` or ``admin``, checked by the caller).

    Raises
    ------
    GermplasmWriteError
        With every problem (item index and field); nothing is written.
    """
    registry = registry or default_registry()
    if len(body) > MAX_ITEMS:
        raise GermplasmWriteError(
            [Problem(0, "", str(len(body)), f"at most {MAX_ITEMS} germplasm per request")]
        )
    own, crops = _own_code(session, viewer), _crops(session)
    empty = dict.fromkeys(COLUMNS, "") | {"INSTCODE": own or ""}
    items = []
    for i, raw in enumerate(body, start=1):
        it = _Item(i, raw if isinstance(raw, dict) else {}, empty)
        if not isinstance(raw, dict):
            it.bad("", "", "must be a Germplasm object")
        _to_mcpd(it, crops, own)
        items.append(it)
    df = _validate(session, items, registry)
    keys = list(zip(df["INSTCODE"].to_list(), df["ACCENUMB"].to_list(), strict=True))
    existing = _existing_keys(session, keys)
    clashes = [
        Problem(
            r,
            "ACCENUMB",
            n,
            f"already in the database as germplasmDbId {existing[(c, n)]}; change it with PUT",
        )
        for r, (c, n) in enumerate(keys, start=1)
        if (c, n) in existing
    ]
    if clashes:
        raise GermplasmWriteError(clashes)
    write_passport_frame(
        session, df, registry, ImportReport("BrAPI POST /germplasm", "passport", rows=df.height)
    )
    found = _existing_keys(session, keys)
    return [found[k] for k in keys]


def _existing_keys(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    if not keys:
        return {}
    rows = session.execute(
        select(Institute.code, Accession.accenumb, Accession.id)
        .join(Institute, Institute.id == Accession.institute_id)
        .where(Accession.accenumb.in_(sorted({n for _, n in keys})))
    ).all()
    wanted = set(keys)
    return {(c, n): i for c, n, i in rows if (c, n) in wanted}


def update_germplasm(
    session: Session,
    germplasm_id: int,
    body: Mapping[str, Any],
    viewer: Viewer,
    *,
    registry: SpeciesRegistry | None = None,
) -> bool:
    """Change the passport of one accession from a BrAPI ``Germplasm``; False if there is none.

    Raises
    ------
    NotYourAccessionError
        When a non-admin writer's institute does not hold the accession.
    GermplasmWriteError
        With every problem (field at fault); nothing is written.
    """
    registry = registry or default_registry()
    acc = session.get(Accession, germplasm_id)
    if acc is None:
        return False
    if not viewer.is_admin and acc.institute_id != viewer.institute_id:
        raise NotYourAccessionError(
            f"germplasm {germplasm_id} is held by {acc.institute.code}: "
            "you may change only your institute's accessions"
        )
    it = _Item(1, body, accession_to_mcpd(acc))
    for field, col in (("accessionNumber", "ACCENUMB"), ("instituteCode", "INSTCODE")):
        given = it.text(field)
        if given and given.upper() != it.mcpd[col].upper():
            it.bad(field, given, f"cannot be changed (it is {it.mcpd[col]!r})")
    _to_mcpd(it, _crops(session), None)
    it.mcpd["ACCENUMB"], it.mcpd["INSTCODE"] = acc.accenumb, acc.institute.code
    df = _validate(session, [it], registry)
    write_passport_frame(
        session, df, registry, ImportReport("BrAPI PUT /germplasm", "passport", rows=1)
    )
    session.expire_all()
    return True
