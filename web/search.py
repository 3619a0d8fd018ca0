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
``page``       page number, 1 to 1,000,000,000 (a page past the last is an
               empty page, not an error)
``page_size``  results per page, 1 to 200
=============  ==========================================================

Every bad value raises :class:`~web.exceptions.InvalidParameterError` naming
the parameter, the value and the fix (HTTP 400): whole numbers are ASCII
digits only (``²``, ``①`` or ``٣`` are refused, as are ``1e20`` and
``1_000``), numbers are bounded, and text may not hold control characters
(NUL, which PostgreSQL refuses in text, tab, ...) or exceed
:data:`MAX_TEXT_LENGTH` characters.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Mapping

from sqlalchemy.orm import Session

from breedhub.germplasm import AccessionQuery, NotFoundError, Page, TraitRange, search_accessions
from breedhub.germplasm.mcpd import SAMPSTAT
from breedhub.web.exceptions import InvalidParameterError

PARAMETERS = (
    "q", "species", "institute", "origin", "sampstat", "genotyped",
    "trait", "min", "max", "sort", "desc", "page", "page_size",
)  # fmt: skip
DEFAULT_PAGE_SIZE = 25
#: The most results per page that a client without an account may ask for
#: (larger pages slow the search down for everyone).
MAX_PAGE_SIZE = 200
#: The highest page number; past the last page of results a page is empty.
MAX_PAGE = 1_000_000_000
#: The longest text accepted in any parameter.
MAX_TEXT_LENGTH = 200
TRUE = ("1", "on", "true", "yes")
FALSE = ("0", "off", "false", "no")

# ASCII digits only: str.isdigit(), int() and float() also take "²", "①" or "٣".
_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FLOAT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)


def _shown(raw: str, limit: int = 40) -> str:
    """``raw`` shortened for a message."""
    return raw if len(raw) <= limit else raw[:limit] + "…"


def check_text(name: str, raw: str, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    """``raw`` unchanged if it is usable text, else :class:`InvalidParameterError` naming ``name``.

    Refuses control characters (Unicode category ``Cc``: NUL, which
    PostgreSQL cannot store or compare in text, tab, newline, DEL, ...) and
    text longer than ``max_length`` characters.

    >>> check_text("q", "IR 64")
    'IR 64'
    >>> check_text("q", "IR\\x0064")
    Traceback (most recent call last):
    ...
    breedhub.web.exceptions.InvalidParameterError: q: must not contain control characters such as NUL (found U+0000)
    """
    bad = next((c for c in raw if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise InvalidParameterError(
            name,
            f"must not contain control characters such as NUL (found U+{ord(bad):04X})",
            raw,
        )
    if len(raw) > max_length:
        raise InvalidParameterError(
            name, f"must be at most {max_length} characters long, not {len(raw)}", _shown(raw)
        )
    return raw


def _text(args: Mapping[str, str], name: str) -> str:
    return check_text(name, (args.get(name) or "").strip())


def _int(args: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = _text(args, name)
    if raw == "":
        return default
    if _INT.fullmatch(raw) is None:
        raise InvalidParameterError(
            name, f"must be a whole number, not {_shown(raw)!r} (digits 0-9)", _shown(raw)
        )
    return int(raw)


def _float(args: Mapping[str, str], name: str) -> float | None:
    raw = _text(args, name)
    if raw == "":
        return None
    if _FLOAT.fullmatch(raw) is None:
        raise InvalidParameterError(
            name, f"must be a number, not {_shown(raw)!r} (digits 0-9)", _shown(raw)
        )
    value = float(raw)
    if not math.isfinite(value):
        raise InvalidParameterError(name, f"must be a finite number, not {raw!r}", raw)
    return value


def page_number(args: Mapping[str, str], *, high: int = 999_999) -> int:
    """The ``page`` parameter of a paged list (1 when absent): ASCII digits, 1 to ``high``."""
    page = _int(args, "page", 1)
    assert page is not None
    if not 1 <= page <= high:
        raise InvalidParameterError(
            "page", f"must be a whole number from 1 to {high}", _shown(str(page))
        )
    return page


def _paging(args: Mapping[str, str], max_page_size: int) -> tuple[int, int]:
    """``page`` and ``page_size``, checked against :data:`MAX_PAGE` and ``max_page_size``."""
    page = _int(args, "page", 1)
    page_size = _int(args, "page_size", DEFAULT_PAGE_SIZE)
    assert page is not None and page_size is not None
    if page < 1:
        raise InvalidParameterError("page", f"must be 1 or more, not {page}", str(page))
    if page > MAX_PAGE:
        raise InvalidParameterError(
            "page", f"must be at most {MAX_PAGE:,}, not {_shown(str(page))}", _shown(str(page))
        )
    if not 1 <= page_size <= max_page_size:
        raise InvalidParameterError(
            "page_size",
            f"must be between 1 and {max_page_size}, not {page_size}",
            _shown(str(page_size)),
        )
    return page, page_size


def parse_query(
    args: Mapping[str, str],
    *,
    species_keys: Collection[str] | None = None,
    max_page_size: int = MAX_PAGE_SIZE,
) -> AccessionQuery:
    """Build and validate the query that the parameters ``args`` describe.

    Parameters
    ----------
    args
        The query string (``request.args``).
    species_keys
        Species known to the database; when given, an unknown ``species`` is
        an error rather than an empty result.
    max_page_size
        The largest ``page_size`` allowed (:data:`MAX_PAGE_SIZE` for a
        client without an account).

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

    page, page_size = _paging(args, max_page_size)

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
