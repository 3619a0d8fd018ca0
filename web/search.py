"""Turning the search form's query string into an :class:`~germplasm.AccessionQuery`.

The portal's search page and ``/api/v1/germplasm`` share the parameters:

=============  ==========================================================
``q``          prefix of a name, number or synonym ("ir 64" finds IR64)
``species``    species key (``rice``)
``institute``  holding institute's WIEWS code
``origin``     ISO 3166-1 alpha-3 country of origin
``sampstat``   MCPD biological status (400 includes 410, 411, ...)
``genotyped``  ``yes``, ``no`` or empty (any)
``trait``      an observation variable: keep accessions with data for it
               and, with ``min`` and/or ``max``, whose mean lies in the range
``min``        lower bound of that range (empty: none)
``max``        upper bound of that range (empty: none)
``sort``       ``accenumb``, ``name``, ``species``, ``institute``,
               ``origin``, ``sampstat``, ``acqdate``, a variable name, or
               ``trait`` (the mean of the chosen trait)
``desc``       sort descending when ``1``/``on``/``true``/``yes``
``page``       page number, from 1
``page_size``  results per page, 1 to 1000
=============  ==========================================================

Every bad value raises :class:`~web.exceptions.InvalidParameterError` naming
the parameter, the value and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

from sqlalchemy.orm import Session

from breedhub.germplasm import AccessionQuery, NotFoundError, Page, TraitRange, search_accessions
from breedhub.germplasm.mcpd import SAMPSTAT
from breedhub.germplasm.queries import MAX_PAGE_SIZE
from breedhub.web.exceptions import InvalidParameterError

PARAMETERS = (
    "q", "species", "institute", "origin", "sampstat", "genotyped",
    "trait", "min", "max", "sort", "desc", "page", "page_size",
)  # fmt: skip
DEFAULT_PAGE_SIZE = 25
TRUE = ("1", "on", "true", "yes")
FALSE = ("0", "off", "false", "no")


def _text(args: Mapping[str, str], name: str) -> str:
    return (args.get(name) or "").strip()


def _int(args: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = _text(args, name)
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidParameterError(name, f"must be a whole number, not {raw!r}", raw) from None


def _float(args: Mapping[str, str], name: str) -> float | None:
    raw = _text(args, name)
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidParameterError(name, f"must be a number, not {raw!r}", raw) from None
    if not math.isfinite(value):
        raise InvalidParameterError(name, f"must be a finite number, not {raw!r}", raw)
    return value


def parse_query(
    args: Mapping[str, str], *, species_keys: Collection[str] | None = None
) -> AccessionQuery:
    """Build and validate the query that the parameters ``args`` describe.

    Parameters
    ----------
    args
        The query string (``request.args``).
    species_keys
        Species known to the database; when given, an unknown ``species`` is
        an error rather than an empty result.

    Raises
    ------
    InvalidParameterError
        For any value that cannot be used.
    """
    species = _text(args, "species") or None
    if species is not None and species_keys is not None and species not in species_keys:
        known = ", ".join(sorted(species_keys))
        raise InvalidParameterError(
            "species", f"unknown species {species!r} (known: {known})", species
        )

    origin = _text(args, "origin").upper() or None
    if origin is not None and not (len(origin) == 3 and origin.isalpha() and origin.isascii()):
        raise InvalidParameterError(
            "origin",
            f"must be an ISO 3166-1 alpha-3 country code such as CHN, not {origin!r}",
            origin,
        )

    sampstat = _int(args, "sampstat", None)
    if sampstat is not None and sampstat not in SAMPSTAT:
        raise InvalidParameterError(
            "sampstat",
            f"{sampstat} is not an MCPD biological status (SAMPSTAT) code",
            str(sampstat),
        )

    raw_geno = _text(args, "genotyped").lower()
    if raw_geno in ("", "any"):
        genotyped = None
    elif raw_geno in TRUE:
        genotyped = True
    elif raw_geno in FALSE:
        genotyped = False
    else:
        raise InvalidParameterError(
            "genotyped", f"must be yes, no or empty, not {raw_geno!r}", raw_geno
        )

    trait = _text(args, "trait") or None
    lo, hi = _float(args, "min"), _float(args, "max")
    traits: tuple[TraitRange, ...] = ()
    if trait is not None:
        if lo is not None and hi is not None and lo > hi:
            raise InvalidParameterError(
                "min", f"the minimum {lo:g} is above the maximum {hi:g}", str(lo)
            )
        traits = (TraitRange(trait, lo, hi),)
    elif lo is not None or hi is not None:
        raise InvalidParameterError("trait", "choose a trait for the min/max range")

    sort = _text(args, "sort") or "accenumb"
    if sort == "trait":
        if trait is None:
            raise InvalidParameterError("sort", "choose a trait to sort by its mean", sort)
        sort = trait
    descending = _text(args, "desc").lower() in TRUE

    page = _int(args, "page", 1)
    page_size = _int(args, "page_size", DEFAULT_PAGE_SIZE)
    assert page is not None and page_size is not None
    if page < 1:
        raise InvalidParameterError("page", f"must be 1 or more, not {page}", str(page))
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidParameterError(
            "page_size", f"must be between 1 and {MAX_PAGE_SIZE}, not {page_size}", str(page_size)
        )

    query = AccessionQuery(
        text=_text(args, "q") or None,
        species=species,
        institute=_text(args, "institute").upper() or None,
        origin=origin,
        sampstat=sampstat,
        traits=traits,
        genotyped=genotyped,
        page=page,
        page_size=page_size,
        sort=sort,
        descending=descending,
    )
    try:
        query.validate()
    except ValueError as exc:
        raise InvalidParameterError("query", str(exc)) from None
    return query


def run_search(
    session: Session, args: Mapping[str, str], *, species_keys: Collection[str] | None = None
) -> tuple[AccessionQuery, Page]:
    """Parse ``args`` and run the search; unknown variables are bad parameters too."""
    query = parse_query(args, species_keys=species_keys)
    try:
        page = search_accessions(session, query)
    except NotFoundError as exc:
        name = "trait" if query.traits else "sort"
        raise InvalidParameterError(name, str(exc)) from None
    except ValueError as exc:
        raise InvalidParameterError("query", str(exc)) from None
    return query, page
