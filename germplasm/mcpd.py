"""FAO/Bioversity Multi-Crop Passport Descriptors v2.1: fields, code lists, checks.

The single place that names the passport data model: :data:`DESCRIPTORS` maps
every MCPD column to the :class:`~germplasm.models.Accession` attribute that
stores it and to the kind of value it holds. :func:`validate_passport` checks a
whole table at once (vectorised with polars) and returns every problem with its
row, column and reason.

References
----------
Alercia A, Diulgheroff S, Mackay M (2015). FAO/Bioversity Multi-Crop Passport
Descriptors V.2.1. FAO and Bioversity International, Rome.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import polars as pl

from breedhub.germplasm.exceptions import Problem
from breedhub.germplasm.species import SpeciesRegistry
from breedhub.germplasm.tabular import ROW, problems_where

if TYPE_CHECKING:
    from breedhub.germplasm.models import Accession


@dataclass(frozen=True)
class Descriptor:
    """One MCPD column: its code, the Accession attribute, and its value kind."""

    code: str
    attr: str
    kind: str = "text"  # text, int, float, date, code, codes, wiews, wiews_list, country


DESCRIPTORS: tuple[Descriptor, ...] = (
    Descriptor("PUID", "puid"),
    Descriptor("INSTCODE", "instcode", "wiews"),
    Descriptor("ACCENUMB", "accenumb"),
    Descriptor("COLLNUMB", "collnumb"),
    Descriptor("COLLCODE", "collcode", "wiews_list"),
    Descriptor("COLLNAME", "collname"),
    Descriptor("COLLINSTADDRESS", "collinstaddress"),
    Descriptor("COLLMISSID", "collmissid"),
    Descriptor("GENUS", "genus"),
    Descriptor("SPECIES", "species_epithet"),
    Descriptor("SPAUTHOR", "spauthor"),
    Descriptor("SUBTAXA", "subtaxa"),
    Descriptor("SUBTAUTHOR", "subtauthor"),
    Descriptor("CROPNAME", "cropname"),
    Descriptor("ACCENAME", "accename"),
    Descriptor("ACQDATE", "acqdate", "date"),
    Descriptor("ORIGCTY", "origcty", "country"),
    Descriptor("COLLSITE", "collsite"),
    Descriptor("DECLATITUDE", "declatitude", "float"),
    Descriptor("LATITUDE", "latitude"),
    Descriptor("DECLONGITUDE", "declongitude", "float"),
    Descriptor("LONGITUDE", "longitude"),
    Descriptor("COORDUNCERT", "coorduncert", "int"),
    Descriptor("COORDDATUM", "coorddatum"),
    Descriptor("GEOREFMETH", "georefmeth"),
    Descriptor("ELEVATION", "elevation", "int"),
    Descriptor("COLLDATE", "colldate", "date"),
    Descriptor("BREDCODE", "bredcode", "wiews"),
    Descriptor("BREDNAME", "bredname"),
    Descriptor("SAMPSTAT", "sampstat", "code"),
    Descriptor("ANCEST", "ancest"),
    Descriptor("COLLSRC", "collsrc", "code"),
    Descriptor("DONORCODE", "donorcode", "wiews"),
    Descriptor("DONORNAME", "donorname"),
    Descriptor("DONORNUMB", "donornumb"),
    Descriptor("OTHERNUMB", "othernumb"),
    Descriptor("DUPLSITE", "duplsite", "wiews_list"),
    Descriptor("DUPLINSTNAME", "duplinstname"),
    Descriptor("STORAGE", "storage", "codes"),
    Descriptor("MLSSTAT", "mlsstat", "code"),
    Descriptor("REMARKS", "remarks"),
)
COLUMNS = tuple(d.code for d in DESCRIPTORS)
REQUIRED = ("INSTCODE", "ACCENUMB", "GENUS", "SPECIES")

SAMPSTAT: dict[int, str] = {
    100: "Wild", 110: "Natural", 120: "Semi-natural/wild", 130: "Semi-natural/sown",
    200: "Weedy", 300: "Traditional cultivar/landrace", 400: "Breeding/research material",
    410: "Breeder's line", 411: "Synthetic population", 412: "Hybrid",
    413: "Founder stock/base population", 414: "Inbred line", 415: "Segregating population",
    416: "Clonal selection", 420: "Genetic stock", 421: "Mutant", 422: "Cytogenetic stock",
    423: "Other genetic stock", 500: "Advanced or improved cultivar", 600: "GMO",
    999: "Other",
}  # fmt: skip
COLLSRC: dict[int, str] = {
    10: "Wild habitat", 11: "Forest or woodland", 12: "Shrubland", 13: "Grassland",
    14: "Desert or tundra", 15: "Aquatic habitat", 20: "Farm or cultivated habitat",
    21: "Field", 22: "Orchard", 23: "Backyard, kitchen or home garden", 24: "Fallow land",
    25: "Pasture", 26: "Farm store", 27: "Threshing floor", 28: "Park", 30: "Market or shop",
    40: "Institute, experimental station, research organisation, genebank",
    50: "Seed company", 60: "Weedy, disturbed or ruderal habitat", 61: "Roadside",
    62: "Field margin", 99: "Other",
}  # fmt: skip
STORAGE: dict[int, str] = {
    10: "Seed collection", 11: "Short term", 12: "Medium term", 13: "Long term",
    20: "Field collection", 30: "In vitro collection", 40: "Cryopreserved collection",
    50: "DNA collection", 99: "Other",
}  # fmt: skip
MLSSTAT: dict[int, str] = {0: "No", 1: "Yes", 99: "Other"}
CODE_LISTS = {"SAMPSTAT": SAMPSTAT, "COLLSRC": COLLSRC, "STORAGE": STORAGE, "MLSSTAT": MLSSTAT}

_DATE = r"^[0-9]{4}([0-9]{2}|--|00)([0-9]{2}|--|00)$"
_WIEWS = r"^[A-Z]{3}[0-9]{3,4}$"
_INT = r"^-?[0-9]+$"
_FLOAT = r"^-?[0-9]+(\.[0-9]+)?$"


@lru_cache(maxsize=1)
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-3 codes and country names (a new dict; the file is read once)."""
    return dict(_countries())


@lru_cache(maxsize=1)
def _countries() -> tuple[tuple[str, str], ...]:
    # Read once per process: the search page asks on every request.
    text = (resources.files("breedhub.germplasm") / "data" / "iso3166_alpha3.csv").read_text(
        "utf-8"
    )
    df = pl.read_csv(text.encode(), infer_schema=False)
    return tuple(zip(df["alpha3"], df["name"], strict=True))


def _code_problems(df: pl.DataFrame, col: str) -> list[Problem]:
    codes = CODE_LISTS[col]
    listed = ", ".join(str(c) for c in codes)
    if col == "STORAGE":
        parts = pl.col(col).str.split(";")
        ok = parts.list.eval(pl.element().is_in([str(c) for c in codes])).list.all()
        bad = (pl.col(col) != "") & ~ok
        return problems_where(
            df, col, bad, f"not an MCPD STORAGE code ({listed}); separate several with ';'"
        )
    bad = (pl.col(col) != "") & ~pl.col(col).is_in([str(c) for c in codes])
    return problems_where(df, col, bad, f"not an MCPD {col} code; allowed: {listed}")


def _date_problems(df: pl.DataFrame, col: str, today: dt.date) -> list[Problem]:
    v = pl.col(col)
    shape_bad = (v != "") & ~v.str.contains(_DATE)
    out = problems_where(
        df, col, shape_bad, "not a date YYYYMMDD (unknown month or day as -- or 00)"
    )
    ok = df.filter((pl.col(col) != "") & ~shape_bad)
    if ok.height == 0:
        return out
    year = v.str.slice(0, 4).cast(pl.Int32)
    mm = v.str.slice(4, 2).str.replace("--", "00").cast(pl.Int32)
    dd = v.str.slice(6, 2).str.replace("--", "00").cast(pl.Int32)
    checked = ok.with_columns(
        _y=year,
        _m=mm,
        _d=dd,
        _date=pl.when((mm <= 12) & (dd <= 31)).then(
            pl.concat_str(
                [
                    v.str.slice(0, 4),
                    pl.when(mm == 0).then(pl.lit("01")).otherwise(v.str.slice(4, 2)),
                    pl.when(dd == 0).then(pl.lit("01")).otherwise(v.str.slice(6, 2)),
                ]
            ).str.strptime(pl.Date, "%Y%m%d", strict=False)
        ),
    )
    out += problems_where(
        checked,
        col,
        (pl.col("_m") == 0) & (pl.col("_d") != 0),
        "a day is given but the month is unknown",
    )
    out += problems_where(
        checked,
        col,
        pl.col("_date").is_null() & ~((pl.col("_m") == 0) & (pl.col("_d") != 0)),
        "impossible date (no such month or day)",
    )
    out += problems_where(
        checked,
        col,
        pl.col("_date").is_not_null() & (pl.col("_date") > today),
        "date is in the future",
    )
    out += problems_where(
        checked,
        col,
        pl.col("_date").is_not_null() & (pl.col("_y") < 1700),
        "year before 1700 is not plausible",
    )
    return out


def _number_problems(
    df: pl.DataFrame, col: str, kind: str, lo: float, hi: float, what: str
) -> list[Problem]:
    v = pl.col(col)
    pattern = _INT if kind == "int" else _FLOAT
    bad_shape = (v != "") & ~v.str.contains(pattern)
    out = problems_where(
        df, col, bad_shape, f"not {'an integer' if kind == 'int' else 'a decimal number'}"
    )
    num = pl.when((v != "") & ~bad_shape).then(v.cast(pl.Float64, strict=False))
    out += problems_where(df, col, (num < lo) | (num > hi), f"{what} out of range [{lo:g}, {hi:g}]")
    return out


def validate_passport(
    df: pl.DataFrame, registry: SpeciesRegistry, *, today: dt.date | None = None
) -> tuple[list[Problem], list[str]]:
    """Check an MCPD table; return (problems, warnings).

    Parameters
    ----------
    df
        The table as read by :func:`germplasm.tabular.read_table` (text columns
        with MCPD codes as headers, any case, plus ``__row``).
    registry
        The species registry: GENUS and SPECIES must name one of its species.
    today
        Dates after this are rejected (default: today).

    Returns
    -------
    problems, warnings
        Every problem (row, column, value, reason); warnings name columns that
        are not MCPD descriptors and were ignored.
    """
    today = today or dt.date.today()
    problems: list[Problem] = []
    cols = [c for c in df.columns if c != ROW]
    warnings = [
        f"column {c!r} is not an MCPD v2.1 descriptor and was ignored"
        for c in cols
        if c not in COLUMNS
    ]
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        return [Problem(0, c, "", "required MCPD column is missing") for c in missing], warnings
    df = df.with_columns([pl.lit("").alias(c) for c in COLUMNS if c not in cols])

    for col in REQUIRED:
        problems += problems_where(df, col, pl.col(col) == "", "required value is empty")
    for d in DESCRIPTORS:
        v = pl.col(d.code)
        if d.kind == "wiews":
            problems += problems_where(
                df,
                d.code,
                (v != "") & ~v.str.contains(_WIEWS),
                "not a FAO WIEWS institute code (3-letter ISO country code + number, e.g. PHL001)",
            )
        elif d.kind == "wiews_list":
            ok = v.str.split(";").list.eval(pl.element().str.contains(_WIEWS)).list.all()
            problems += problems_where(
                df,
                d.code,
                (v != "") & ~ok,
                "not a ';'-separated list of FAO WIEWS codes (e.g. PHL001;CHN012)",
            )
        elif d.kind == "code":
            problems += _code_problems(df, d.code)
        elif d.kind == "codes":
            problems += _code_problems(df, d.code)
        elif d.kind == "date":
            problems += _date_problems(df, d.code, today)
        elif d.kind == "country":
            problems += problems_where(
                df,
                d.code,
                (v != "") & ~v.is_in(list(countries())),
                "not an ISO 3166-1 alpha-3 country code (e.g. CHN, PHL, NLD)",
            )
    problems += _number_problems(df, "DECLATITUDE", "float", -90, 90, "latitude")
    problems += _number_problems(df, "DECLONGITUDE", "float", -180, 180, "longitude")
    problems += _number_problems(df, "COORDUNCERT", "int", 0, 20_000_000, "uncertainty (m)")
    problems += _number_problems(df, "ELEVATION", "int", -450, 9000, "elevation (m)")
    problems += problems_where(
        df,
        "LATITUDE",
        (pl.col("LATITUDE") != "") & ~pl.col("LATITUDE").str.contains(r"^[0-9]{2}[0-9-]{4}[NS]$"),
        "not DDMMSS followed by N or S (missing digits as '-')",
    )
    problems += problems_where(
        df,
        "LONGITUDE",
        (pl.col("LONGITUDE") != "") & ~pl.col("LONGITUDE").str.contains(r"^[0-9]{3}[0-9-]{4}[EW]$"),
        "not DDDMMSS followed by E or W (missing digits as '-')",
    )

    known = {(sp.genus.lower(), sp.species.lower()) for sp in registry}
    names = ", ".join(sp.scientific_name for sp in registry)
    taxa = df.filter((pl.col("GENUS") != "") & (pl.col("SPECIES") != ""))
    pair_ok = pl.concat_str(
        [pl.col("GENUS").str.to_lowercase(), pl.col("SPECIES").str.to_lowercase()], separator=" "
    ).is_in([f"{g} {s}" for g, s in known])
    for r, g, s in taxa.filter(~pair_ok).select(ROW, "GENUS", "SPECIES").iter_rows():
        problems.append(
            Problem(
                int(r), "GENUS/SPECIES", f"{g} {s}", f"unknown species; the registry has: {names}"
            )
        )

    key = pl.concat_str([pl.col("INSTCODE"), pl.col("ACCENUMB")], separator="\x1f")
    problems += _duplicates(df, key, "ACCENUMB", "duplicate accession number within institute")
    problems += _duplicates(
        df.filter(pl.col("PUID") != ""), pl.col("PUID"), "PUID", "duplicate PUID"
    )
    return problems, warnings


def _duplicates(df: pl.DataFrame, key: pl.Expr, col: str, reason: str) -> list[Problem]:
    d = df.with_columns(_k=key).filter(pl.col("_k").is_duplicated() & (pl.col(col) != ""))
    if d.height == 0:
        return []
    first = d.group_by("_k").agg(pl.col(ROW).min().alias("_first"))
    d = d.join(first, on="_k").filter(pl.col(ROW) != pl.col("_first"))
    return [
        Problem(int(r), col, v, f"{reason} (first seen in row {f})")
        for r, v, f in d.select(ROW, col, "_first").iter_rows()
    ]


def mcpd_text(value: Any, kind: str) -> str:
    """A stored value as MCPD text: "" for missing, floats in their shortest form."""
    if value is None:
        return ""
    return format_float(value) if kind == "float" else str(value)


def accession_to_mcpd(acc: Accession) -> dict[str, str]:
    """The accession's passport as MCPD column -> text, as it would be exported."""
    return {
        d.code: mcpd_text(
            acc.institute.code if d.attr == "instcode" else getattr(acc, d.attr), d.kind
        )
        for d in DESCRIPTORS
    }


def format_float(x: float) -> str:
    """Shortest text that reads back as the same float (``12.5``, not ``12.500000``)."""
    return repr(float(x)) if x != int(x) else str(int(x))
