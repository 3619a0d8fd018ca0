"""BrAPI v2.1 genotype data read from the HDF5 stores: variants, calls and the allele matrix.

DbIds are those of :mod:`web.brapi.genotyping` (``variantDbId`` =
``<variantSetDbId>:<row>``, ``callSetDbId`` = ``<variantSetDbId>:<sampleDbId>``).
Rows and columns are read a page at a time with
:func:`genomics.store_slices.read_runs`, never the whole matrix. Genotypes
are written unphased (the store keeps no phase) with as many alleles as the
store's ploidy: a hexaploid dosage 3 is ``0/0/0/1/1/1``, a missing allele
the ``unknownString`` (default ``.``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from flask import Response, abort, current_app, g, request

from breedhub.genomics.exceptions import GenomicsError
from breedhub.genomics.store_slices import (
    Contig,
    GenotypeSlice,
    StoreShape,
    intersect_runs,
    merge_runs,
    page_runs,
    read_runs,
    region_runs,
    runs_length,
    store_contigs,
    store_shape,
)
from breedhub.germplasm.brapi_genotyping import (
    CallSetFilter,
    CallSetRow,
    DatasetRow,
    dataset_callsets,
    visible_datasets,
)
from breedhub.web.auth import current_viewer
from breedhub.web.brapi import (
    Paging,
    body_list,
    call,
    check_text,
    db_id,
    db_ids,
    paging,
    query_list,
    query_text,
    respond_list,
    respond_one,
    search_answering,
)
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError

#: Largest page of each dimension of the allele matrix.
MAX_DIMENSION_PAGE_SIZE = 1000
DEFAULT_DIMENSION_PAGE_SIZE = 100
#: Call fields a store may hold besides GT: abbreviation -> BrAPI data matrix name.
FIELD_NAMES = {"GT": "Genotype", "DP": "Read Depth", "GQ": "Genotype Quality"}

_DIGITS = re.compile(r"[0-9]{1,10}", re.ASCII)


# ---------------------------------------------------------------------------
# DbIds and stores


def parse_pair(raw: object) -> tuple[int, int] | None:
    """``(a, b)`` of a DbId ``"a:b"`` (``a`` a database id, ``b`` an index from 0), else None."""
    if not isinstance(raw, str) or raw.count(":") != 1:
        return None
    left, right = raw.split(":")
    first = db_id(left)
    if first is None or _DIGITS.fullmatch(right) is None:
        return None
    return first, int(right)


def pairs(raws: Sequence[object]) -> list[tuple[int, int]]:
    """The DbIds among ``raws`` that can be ours, parsed (the others match nothing)."""
    return [p for p in (parse_pair(r) for r in raws) if p is not None]


def store_path(ds: DatasetRow) -> Path:
    """A dataset's store: its path as recorded, relative ones under the data directory."""
    path = Path(ds.path)
    return path if path.is_absolute() else Path(current_app.config["BREEDHUB_HOME"]) / path


def shape(ds: DatasetRow) -> StoreShape | None:
    """The dataset's store shape, None when the store is missing or unreadable (cached per request)."""
    cache = g.setdefault("brapi_store_shapes", {})
    if ds.id not in cache:
        try:
            cache[ds.id] = store_shape(store_path(ds))
        except (GenomicsError, OSError, KeyError, ValueError):
            cache[ds.id] = None
    return cache[ds.id]


def contigs(ds: DatasetRow) -> list[Contig]:
    """The contigs of the dataset's store (none when the store cannot be read)."""
    if shape(ds) is None:
        return []
    try:
        return store_contigs(store_path(ds))
    except (GenomicsError, OSError, KeyError, ValueError):
        return []


def iso(value: Any) -> str | None:
    """A stored time (naive UTC) or date as RFC 3339 date-time text, or None."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):  # a date: its midnight
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.isoformat()


def bool_value(name: str, raw: object, default: bool) -> bool:
    """A boolean parameter (``true``/``false``, or a JSON boolean), else a 400."""
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise InvalidParameterError(name, "must be true or false", str(raw)[:40])


def text_value(name: str, raw: object, default: str) -> str:
    """A short text parameter (a separator, the unknown string), else a 400."""
    if raw is None:
        return default
    if not isinstance(raw, str):
        raise InvalidParameterError(name, "must be a text", str(raw)[:40])
    check_text(name, raw)
    if len(raw) > 20:
        raise InvalidParameterError(name, "must be at most 20 characters", raw[:40])
    return raw


@dataclass(frozen=True)
class Format:
    """How genotypes are written: ``unknownString``, separators, homozygotes expanded or not."""

    unknown: str = "."
    sep_unphased: str = "/"
    sep_phased: str = "|"
    expand: bool = True

    @classmethod
    def read(cls, source: Mapping[str, Any]) -> Format:
        """The format a request asks for (query string or search body), checked."""
        return cls(
            text_value("unknownString", source.get("unknownString"), "."),
            text_value("sepUnphased", source.get("sepUnphased"), "/"),
            text_value("sepPhased", source.get("sepPhased"), "|"),
            bool_value("expandHomozygotes", source.get("expandHomozygotes"), True),
        )

    def extra(self) -> dict[str, Any]:
        """The format's keys of a calls or allele-matrix result."""
        return {
            "expandHomozygotes": self.expand,
            "sepPhased": self.sep_phased,
            "sepUnphased": self.sep_unphased,
            "unknownString": self.unknown,
        }


def genotype_strings(gt: np.ndarray, fmt: Format) -> np.ndarray:
    """(variants, samples, ploidy) allele indexes -> (variants, samples) BrAPI genotype texts.

    Unphased: alleles sorted, missing last, one per homologue (``0/0/0/1/1/1``).
    """
    n_var, n_samp, ploidy = gt.shape
    if gt.size == 0:
        return np.empty((n_var, n_samp), dtype=object)
    codes = np.where(gt < 0, np.int64(1 << 20), gt.astype(np.int64))
    codes.sort(axis=2)
    known = codes[codes < (1 << 20)]
    base = int(known.max()) + 2 if known.size else 2
    codes[codes >= (1 << 20)] = base - 1
    flat = codes.reshape(-1, ploidy)
    if ploidy * math.log2(base) < 62:
        keys = flat @ (np.int64(base) ** np.arange(ploidy, dtype=np.int64))
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(flat, axis=0, return_index=True, return_inverse=True)
    texts = []
    for row in flat[first]:
        alleles = [fmt.unknown if a == base - 1 else str(int(a)) for a in row]
        if not fmt.expand and len(set(alleles)) == 1:
            alleles = alleles[:1]
        texts.append(fmt.sep_unphased.join(alleles))
    return np.array(texts, dtype=object)[np.asarray(inverse).reshape(-1)].reshape(n_var, n_samp)


def token_search(kind: str, run: Any) -> None:
    """:func:`~web.brapi.search` of a token-paged list: ``run(body, page) -> (data, total, extra)``."""

    def answer(body: Mapping[str, Any], page: Paging) -> Response:
        data, total, extra = run(body, page)
        return respond_list(data, total, page, extra=extra, tokens=True)

    search_answering(kind, answer)


# ---------------------------------------------------------------------------
# Which rows: variants of datasets, filtered


@dataclass(frozen=True)
class Scope:
    """One dataset and the rows of its store a request covers."""

    ds: DatasetRow
    runs: list[tuple[int, int]]


def variant_scopes(
    *,
    dataset_ids: Sequence[int] | None = None,
    variant_ids: Sequence[str] | None = None,
    reference_ids: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    window: tuple[int | None, int | None] = (None, None),
) -> list[Scope]:
    """The visible datasets and, for each, the rows kept by the filters (None: no filter)."""
    wanted_rows: dict[int, list[tuple[int, int]]] | None = None
    if variant_ids is not None:
        wanted_rows = {}
        for ds_id, row in pairs(variant_ids):
            wanted_rows.setdefault(ds_id, []).append((row, row + 1))
        dataset_ids = _narrow(dataset_ids, wanted_rows)
    wanted_contigs: dict[int, set[int]] | None = None
    if reference_ids is not None:
        wanted_contigs = {}
        for ds_id, index in pairs(reference_ids):
            wanted_contigs.setdefault(ds_id, set()).add(index)
        dataset_ids = _narrow(dataset_ids, wanted_contigs)
    if dataset_ids is not None and not dataset_ids:
        return []
    scopes = []
    for ds in visible_datasets(get_session(), current_viewer(), dataset_ids):
        found = shape(ds)
        if found is None:
            continue
        runs = [(0, found.n_variants)] if found.n_variants else []
        if wanted_rows is not None:
            runs = intersect_runs(runs, merge_runs(wanted_rows.get(ds.id, [])))
        if wanted_contigs is not None or window != (None, None):
            keep = [
                c
                for c in contigs(ds)
                if wanted_contigs is None or c.index in wanted_contigs.get(ds.id, set())
            ]
            runs = intersect_runs(runs, _window_runs(ds, keep, window))
        if regions:
            runs = intersect_runs(runs, _region_runs(ds, regions))
        scopes.append(Scope(ds, runs))
    return scopes


def _narrow(dataset_ids: Sequence[int] | None, wanted: Mapping[int, Any]) -> list[int]:
    return [i for i in wanted if dataset_ids is None or i in dataset_ids]


def _window_runs(
    ds: DatasetRow, keep: Sequence[Contig], window: tuple[int | None, int | None]
) -> list[tuple[int, int]]:
    start, end = window
    if start is None and end is None:
        return merge_runs((c.start, c.stop) for c in keep)
    lo = 1 if start is None else start + 1  # BrAPI windows are 0-based, end excluded
    spans = []
    for c in keep:
        hi = end if c.length is None or end is None else min(end, c.length)
        if (c.length is not None and lo > c.length) or (hi is not None and hi < lo):
            continue
        spans.append(f"{{{c.name}}}:{lo}-{'' if hi is None else hi}")
    return _region_runs(ds, spans)


def _region_runs(ds: DatasetRow, regions: Sequence[str]) -> list[tuple[int, int]]:
    """Rows of ``regions`` in the store; a region on a contig the store lacks holds none."""
    names = {c.name for c in contigs(ds)}
    out: list[tuple[int, int]] = []
    for region in regions:
        try:
            out.extend(region_runs(store_path(ds), [region]))
        except ValueError as exc:
            if _contig_of(region) in names:
                raise InvalidParameterError("positionRange", str(exc), region[:40]) from None
        except (GenomicsError, OSError, KeyError, TypeError):
            continue
    return merge_runs(out)


def _contig_of(region: str) -> str:
    """The contig a region names (``{name}:...``, ``name:start-end`` or ``name``)."""
    if region.startswith("{") and "}" in region:
        return region[1 : region.index("}")]
    head, _, tail = region.rpartition(":")
    return head if head and re.fullmatch(r"[0-9,]*-?[0-9,]*", tail) else region


def window_value(name: str, raw: object) -> int | None:
    """A 0-based genome position of a search body (``start``/``end``), else a 400."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 2**40:
        raise InvalidParameterError(name, "must be a whole number from 0", str(raw)[:40])
    return raw


# ---------------------------------------------------------------------------
# Variants


def variant_objects(ds: DatasetRow, part: GenotypeSlice) -> list[dict[str, Any]]:
    """The BrAPI ``Variant`` of each row of ``part``."""
    index = {c.name: c.index for c in contigs(ds)}
    out: list[dict[str, Any]] = []
    for k, row in enumerate(part.rows.tolist()):
        name, pos, ref = part.contig[k], int(part.position[k]), part.ref[k]
        alts = list(part.alt[k])
        out.append(
            {
                "additionalInfo": {},
                "alternateBases": alts,
                "alternate_bases": alts,
                "ciend": [],
                "cipos": [],
                "created": iso(ds.created_at),
                "end": pos - 1 + max(len(ref), 1),
                "externalReferences": [],
                "filtersApplied": None,
                "filtersFailed": [],
                "filtersPassed": None,
                "referenceBases": ref or None,
                "referenceDbId": f"{ds.id}:{index[name]}" if name in index else None,
                "referenceName": name,
                "referenceSetDbId": str(ds.id),
                "referenceSetName": ds.reference or None,
                "start": pos - 1,
                "svlen": None,
                "updated": None,
                "variantDbId": f"{ds.id}:{row}",
                "variantNames": [part.variant_id[k]] if part.variant_id[k] else [],
                "variantSetDbId": [str(ds.id)],
                "variantType": None,
            }
        )
    return out


def page_scopes(scopes: Sequence[Scope], page: Paging) -> list[tuple[Scope, list[tuple[int, int]]]]:
    """The scopes that ``page`` of their rows (one after the other) touches, with those rows."""
    out = []
    offset, limit = page.offset, page.page_size
    for scope in scopes:
        n = runs_length(scope.runs)
        if offset >= n:
            offset -= n
            continue
        runs = page_runs(scope.runs, offset, limit)
        out.append((scope, runs))
        limit -= runs_length(runs)
        offset = 0
        if limit <= 0:
            break
    return out


def variants_page(scopes: Sequence[Scope], page: Paging) -> tuple[list[dict[str, Any]], int]:
    """One page of the variants of ``scopes``, in dataset then store order."""
    data = []
    for scope, runs in page_scopes(scopes, page):
        data.extend(variant_objects(scope.ds, _read(scope.ds, runs, [])))
    return data, sum(runs_length(s.runs) for s in scopes)


def _read(
    ds: DatasetRow,
    runs: Sequence[tuple[int, int]],
    columns: Sequence[int],
    fields: Sequence[str] = (),
) -> GenotypeSlice:
    try:
        return read_runs(store_path(ds), runs, columns, fields=fields)
    except (GenomicsError, OSError, KeyError, IndexError) as exc:
        raise InvalidParameterError(
            "variantSetDbId", f"the genotype store of dataset {ds.id} cannot be read: {exc}", ""
        ) from None


@call("variants")
def variants() -> Response:
    page = paging()
    scopes = variant_scopes(
        dataset_ids=_ids_filter(query_list("variantSetDbId") + query_list("referenceSetDbId")),
        variant_ids=query_list("variantDbId") or None,
        reference_ids=query_list("referenceDbId") or None,
    )
    if query_text("externalReferenceId") or query_text("externalReferenceSource"):
        scopes = []
    data, total = variants_page(scopes, page)
    return respond_list(data, total, page, tokens=True)


@call("variants/{variantDbId}")
def variant(variantDbId: str) -> Response:
    scopes = variant_scopes(variant_ids=[variantDbId])
    data, _ = variants_page(scopes, Paging(0, 1))
    if not data:
        abort(404, description=f"There is no variant with DbId {variantDbId[:40]!r}.")
    return respond_one(data[0])


@call("variantsets/{variantSetDbId}/variants")
def variantset_variants(variantSetDbId: str) -> Response:
    page = paging()
    scopes = variant_scopes(
        dataset_ids=db_ids([variantSetDbId]), variant_ids=query_list("variantDbId") or None
    )
    data, total = variants_page(scopes, page)
    return respond_list(data, total, page, tokens=True)


def _ids_filter(raws: Sequence[str]) -> list[int] | None:
    return db_ids(raws) if raws else None


def _search_variants(
    body: Mapping[str, Any], page: Paging
) -> tuple[list[dict[str, Any]], int, None]:
    refs = body_list(body, "referenceDbIds") + body_list(body, "referenceDbId")
    if body_list(body, "callSetDbIds"):
        call_ds = {p[0] for p in pairs(body_list(body, "callSetDbIds"))}
    else:
        call_ds = None
    ds_ids = _ids_filter(body_list(body, "variantSetDbIds") + body_list(body, "referenceSetDbIds"))
    if call_ds is not None:
        ds_ids = [i for i in call_ds if ds_ids is None or i in ds_ids]
    scopes = variant_scopes(
        dataset_ids=ds_ids,
        variant_ids=body_list(body, "variantDbIds") or None,
        reference_ids=refs or None,
        window=(window_value("start", body.get("start")), window_value("end", body.get("end"))),
    )
    if _unmatched(body, ("studyDbIds", "trialDbIds", "programDbIds", "externalReferenceIds")):
        scopes = []
    data, total = variants_page(scopes, page)
    return data, total, None


def _unmatched(body: Mapping[str, Any], names: Sequence[str]) -> bool:
    """True when a body filters on what breedhub does not record (so nothing matches)."""
    return any(body_list(body, n) for n in names)


token_search("variants", _search_variants)


# ---------------------------------------------------------------------------
# Calls


@dataclass(frozen=True)
class CallScope:
    """Rows and call sets (columns) of one dataset that a calls request covers."""

    ds: DatasetRow
    runs: list[tuple[int, int]]
    callsets: list[CallSetRow]

    @property
    def size(self) -> int:
        return runs_length(self.runs) * len(self.callsets)


def call_scopes(
    *,
    dataset_ids: Sequence[int] | None = None,
    variant_ids: Sequence[str] | None = None,
    callset_ids: Sequence[str] | None = None,
) -> list[CallScope]:
    """The datasets, rows and columns a calls request covers."""
    flt = CallSetFilter()
    if callset_ids is not None:
        found = pairs(callset_ids)
        flt = CallSetFilter(pairs=found)
        by_ds = {d for d, _ in found}
        dataset_ids = [i for i in by_ds if dataset_ids is None or i in dataset_ids]
    out = []
    for scope in variant_scopes(dataset_ids=dataset_ids, variant_ids=variant_ids):
        columns = dataset_callsets(get_session(), current_viewer(), scope.ds.id, flt)
        out.append(CallScope(scope.ds, scope.runs, columns))
    return out


def call_objects(
    ds: DatasetRow, part: GenotypeSlice, columns: Sequence[CallSetRow], fmt: Format
) -> list[list[dict[str, Any]]]:
    """The BrAPI ``Call`` of each cell of ``part``, by row then column."""
    texts = genotype_strings(part.gt, fmt)
    rows = []
    for k, row in enumerate(part.rows.tolist()):
        name = part.variant_id[k] or f"{part.contig[k]}:{int(part.position[k])}"
        cells = []
        for j, cs in enumerate(columns):
            metadata = [
                {
                    "dataType": "integer",
                    "fieldAbbreviation": key,
                    "fieldName": FIELD_NAMES[key],
                    "fieldValue": str(int(values[k, j])) if values[k, j] >= 0 else fmt.unknown,
                }
                for key, values in part.fields.items()
            ]
            cells.append(
                {
                    "additionalInfo": {},
                    "callSetDbId": f"{ds.id}:{cs.sample_id}",
                    "callSetName": cs.sample_name,
                    "genotype": {"values": [texts[k, j]]},
                    "genotypeMetadata": metadata,
                    "genotypeValue": texts[k, j],
                    "genotype_likelihood": None,
                    "phaseSet": None,
                    "variantDbId": f"{ds.id}:{row}",
                    "variantName": name,
                    "variantSetDbId": str(ds.id),
                    "variantSetName": ds.name,
                }
            )
        rows.append(cells)
    return rows


def calls_page(
    scopes: Sequence[CallScope], page: Paging, fmt: Format
) -> tuple[list[dict[str, Any]], int]:
    """One page of the calls of ``scopes``: datasets in turn, each variant by variant."""
    total = sum(s.size for s in scopes)
    data: list[dict[str, Any]] = []
    offset, limit = page.offset, page.page_size
    for scope in scopes:
        if offset >= scope.size:
            offset -= scope.size
            continue
        n_cols = len(scope.callsets)
        first_row, first_col = divmod(offset, n_cols)
        n_rows = -(-(first_col + limit) // n_cols)
        rows = page_runs(scope.runs, first_row, n_rows)
        columns = scope.callsets if n_rows > 1 else scope.callsets[first_col : first_col + limit]
        skip = first_col if n_rows > 1 else 0
        part = _read(scope.ds, rows, [c.column_index for c in columns], shape_fields(scope.ds))
        cells = [c for row in call_objects(scope.ds, part, columns, fmt) for c in row]
        taken = cells[skip : skip + limit]
        data.extend(taken)
        limit -= len(taken)
        offset = 0
        if limit <= 0:
            break
    return data, total


def shape_fields(ds: DatasetRow) -> tuple[str, ...]:
    """The call fields besides GT that the dataset's store holds."""
    found = shape(ds)
    return found.fields if found is not None else ()


def _calls_response(scopes: Sequence[CallScope], source: Mapping[str, Any]) -> Response:
    fmt = Format.read(source)
    page = paging()
    data, total = calls_page(scopes, page, fmt)
    return respond_list(data, total, page, extra=fmt.extra(), tokens=True)


@call("calls")
def calls() -> Response:
    return _calls_response(
        call_scopes(
            dataset_ids=_ids_filter(query_list("variantSetDbId")),
            variant_ids=query_list("variantDbId") or None,
            callset_ids=query_list("callSetDbId") or None,
        ),
        request.args,
    )


@call("callsets/{callSetDbId}/calls")
def callset_calls(callSetDbId: str) -> Response:
    return _calls_response(call_scopes(callset_ids=[callSetDbId]), request.args)


@call("variants/{variantDbId}/calls")
def variant_calls(variantDbId: str) -> Response:
    return _calls_response(call_scopes(variant_ids=[variantDbId]), request.args)


@call("variantsets/{variantSetDbId}/calls")
def variantset_calls(variantSetDbId: str) -> Response:
    return _calls_response(call_scopes(dataset_ids=db_ids([variantSetDbId])), request.args)


def _search_calls(
    body: Mapping[str, Any], page: Paging
) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    scopes = call_scopes(
        dataset_ids=_ids_filter(body_list(body, "variantSetDbIds")),
        variant_ids=body_list(body, "variantDbIds") or None,
        callset_ids=body_list(body, "callSetDbIds") or None,
    )
    fmt = Format.read(body)
    data, total = calls_page(scopes, page, fmt)
    return data, total, fmt.extra()


token_search("calls", _search_calls)
