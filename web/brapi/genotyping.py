"""BrAPI v2.1 genotyping: samples, variant sets, call sets, references and the allele matrix.

breedhub's genotype datasets (:class:`germplasm.models.GenotypeDataset`,
each an HDF5 store under the data directory) are BrAPI's variant sets; their
columns (a sample in a dataset) are call sets; the rows of a store are
variants; the contigs of a store are the references of the dataset's
reference set. Genotype data (``calls``, ``allelematrix``) is read from the
store a page at a time (:mod:`web.brapi.genotyping_calls`,
:mod:`genomics.store_slices`).

DbIds (strings, stable while a store is not rewritten, and parseable):

=================  ==============================  ==========================
DbId               format                          example
=================  ==============================  ==========================
sampleDbId         ``<sample id>``                 ``"12"``
variantSetDbId     ``<dataset id>``                ``"3"``
callSetDbId        ``<dataset id>:<sample id>``    ``"3:12"``
variantDbId        ``<dataset id>:<row>``          ``"3:0"`` (row from 0)
referenceSetDbId   ``<dataset id>``                ``"3"`` (the store's contigs)
referenceDbId      ``<dataset id>:<contig index>`` ``"3:1"`` (contig order of the store)
=================  ==============================  ==========================

A restricted dataset is invisible to other institutes and anonymous callers,
and so are its call sets, variants, calls and references: its DbIds answer
404 (or match nothing in a list), exactly as unknown ones. A sample is hidden
when every dataset holding it is. Genotypes are written with the store's
ploidy (``0/0/0/1/1/1`` for a hexaploid dosage 3), unphased, ``.`` (or the
request's ``unknownString``) for each missing allele.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from flask import Response, abort, request

from breedhub.germplasm.brapi_genotyping import (
    CallSetFilter,
    CallSetRow,
    DatasetRow,
    SampleFilter,
    SampleRow,
    callsets_page,
    datasets_page,
    get_dataset,
    get_sample,
    samples_page,
)
from breedhub.web.auth import current_viewer
from breedhub.web.brapi import (
    MAX_PAGE,
    Paging,
    body_list,
    call,
    db_id_or_404,
    db_ids,
    paging,
    query_list,
    query_text,
    respond_list,
    respond_one,
    search,
    search_answering,
)
from breedhub.web.brapi.genotyping_calls import (
    DEFAULT_DIMENSION_PAGE_SIZE,
    FIELD_NAMES,
    MAX_DIMENSION_PAGE_SIZE,
    Format,
    Scope,
    bool_value,
    contigs,
    genotype_strings,
    iso,
    page_scopes,
    pairs,
    parse_pair,
    read_runs,
    shape,
    shape_fields,
    store_path,
    variant_scopes,
)
from breedhub.web.db import get_session
from breedhub.web.exceptions import InvalidParameterError

_WELL = re.compile(r"([A-Za-z]{1,2})0*([0-9]{1,3})")
_INT = re.compile(r"[+-]?[0-9]{1,12}", re.ASCII)


def _none(text: str | None) -> str | None:
    return text or None


# ---------------------------------------------------------------------------
# Samples


def _sample(row: SampleRow) -> dict[str, Any]:
    well = _WELL.fullmatch(row.well or "")
    return {
        "additionalInfo": {},
        "column": int(well.group(2)) if well else None,
        "externalReferences": [],
        "germplasmDbId": str(row.accession_id),
        "observationUnitDbId": None,
        "plateDbId": None,
        "plateName": _none(row.plate),
        "programDbId": None,
        "row": well.group(1).upper() if well else None,
        "sampleBarcode": None,
        "sampleDbId": str(row.id),
        "sampleDescription": _none(row.notes),
        "sampleGroupDbId": None,
        "sampleName": row.name,
        "samplePUI": None,
        "sampleTimestamp": iso(row.sample_date),
        "sampleType": None,
        "studyDbId": None,
        "takenBy": None,
        "tissueType": _none(row.tissue),
        "trialDbId": None,
        "well": _none(row.well),
    }


def _sample_filter(get: Any) -> SampleFilter:
    """A :class:`SampleFilter` from ``get(name) -> list of texts`` (query or body)."""

    def ids(name: str) -> list[int] | None:
        raws = get(name)
        return db_ids(raws) if raws else None

    unknown = [
        n
        for n in (
            "observationUnitDbId",
            "plateDbId",
            "sampleGroupDbId",
            "studyDbId",
            "trialDbId",
            "programDbId",
            "externalReferenceId",
            "externalReferenceID",
            "externalReferenceSource",
        )  # fmt: skip
        if get(n)
    ]
    return SampleFilter(
        sample_ids=ids("sampleDbId"),
        sample_names=get("sampleName") or None,
        germplasm_ids=ids("germplasmDbId"),
        germplasm_names=get("germplasmName") or None,
        plate_names=get("plateName") or None,
        crops=get("commonCropName") or None,
        unknown=unknown,
    )


@call("samples")
def samples() -> Response:
    page = paging()
    rows, total = samples_page(
        get_session(), current_viewer(), _sample_filter(query_list),
        offset=page.offset, limit=page.page_size,
    )  # fmt: skip
    return respond_list([_sample(r) for r in rows], total, page)


@call("samples/{sampleDbId}")
def sample(sampleDbId: str) -> Response:
    row = get_sample(get_session(), current_viewer(), db_id_or_404(sampleDbId, "sample"))
    if row is None:
        abort(404, description=f"There is no sample with DbId {sampleDbId!r}.")
    return respond_one(_sample(row))


def _body_getter(body: Mapping[str, Any]) -> Any:
    """``get(name)`` reading a search body's plural list (``sampleDbIds`` for ``sampleDbId``)."""
    return lambda name: body_list(body, name + "s")


def _search_samples(body: Mapping[str, Any], page: Paging) -> tuple[list[dict[str, Any]], int]:
    rows, total = samples_page(
        get_session(), current_viewer(), _sample_filter(_body_getter(body)),
        offset=page.offset, limit=page.page_size,
    )  # fmt: skip
    return [_sample(r) for r in rows], total


search("samples", _search_samples)


# ---------------------------------------------------------------------------
# Variant sets


def _variant_set(ds: DatasetRow) -> dict[str, Any]:
    found = shape(ds)
    fields = ("GT", *found.fields) if found is not None else ("GT",)
    prov = ds.provenance
    software = [str(prov[k]) for k in ("software", "version") if isinstance(prov.get(k), str)]
    analysis = []
    if prov.get("command"):
        analysis.append(
            {
                "analysisDbId": str(ds.id),
                "analysisName": str(prov["command"]),
                "created": iso(ds.created_at),
                "description": None,
                "software": software,
                "type": None,
                "updated": None,
            }
        )
    return {
        "additionalInfo": {"ploidy": str(ds.ploidy), "species": ds.species_key},
        "analysis": analysis,
        "availableFormats": [
            {
                "dataFormat": "JSON",
                "expandHomozygotes": True,
                "fileFormat": "application/json",
                "fileURL": None,
                "sepPhased": "|",
                "sepUnphased": "/",
                "unknownString": ".",
            }
        ],
        "callSetCount": ds.n_samples,
        "externalReferences": [],
        "metadataFields": [
            {
                "dataType": "string" if f == "GT" else "integer",
                "fieldAbbreviation": f,
                "fieldName": FIELD_NAMES[f],
            }  # fmt: skip
            for f in fields
        ],
        "referenceSetDbId": str(ds.id),
        "studyDbId": None,
        "variantCount": found.n_variants if found is not None else ds.n_variants,
        "variantSetDbId": str(ds.id),
        "variantSetName": ds.name,
    }


def _variant_sets(
    *,
    dataset_ids: list[int] | None,
    callset_ids: list[str],
    variant_ids: list[str],
    nothing: bool,
    page: Paging,
    crops: list[str] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    for raws in (callset_ids, variant_ids):
        if raws:
            found = {p[0] for p in pairs(raws)}
            dataset_ids = [i for i in found if dataset_ids is None or i in dataset_ids]
    if nothing:
        dataset_ids = []
    rows, total = datasets_page(
        get_session(), current_viewer(), dataset_ids=dataset_ids, crops=crops,
        offset=page.offset, limit=page.page_size,
    )  # fmt: skip
    return [_variant_set(r) for r in rows], total


def _ids(raws: Sequence[str]) -> list[int] | None:
    return db_ids(raws) if raws else None


def _both(first: list[int] | None, second: list[int] | None) -> list[int] | None:
    if first is None or second is None:
        return first if second is None else second
    return [i for i in first if i in second]


@call("variantsets")
def variantsets() -> Response:
    page = paging()
    unknown = ("studyDbId", "studyName", "programDbId", "externalReferenceId")
    data, total = _variant_sets(
        dataset_ids=_both(_ids(query_list("variantSetDbId")), _ids(query_list("referenceSetDbId"))),
        callset_ids=query_list("callSetDbId"),
        variant_ids=query_list("variantDbId"),
        nothing=any(query_list(n) for n in unknown),
        crops=query_list("commonCropName") or None,
        page=page,
    )
    return respond_list(data, total, page)


@call("variantsets/{variantSetDbId}")
def variantset(variantSetDbId: str) -> Response:
    ds = get_dataset(get_session(), current_viewer(), db_id_or_404(variantSetDbId, "variant set"))
    if ds is None:
        abort(404, description=f"There is no variant set with DbId {variantSetDbId!r}.")
    return respond_one(_variant_set(ds))


def _search_variantsets(body: Mapping[str, Any], page: Paging) -> tuple[list[dict[str, Any]], int]:
    unknown = ("studyDbIds", "studyNames", "trialDbIds", "programDbIds", "externalReferenceIds")
    return _variant_sets(
        dataset_ids=_both(
            _ids(body_list(body, "variantSetDbIds")), _ids(body_list(body, "referenceSetDbIds"))
        ),
        callset_ids=body_list(body, "callSetDbIds"),
        variant_ids=body_list(body, "variantDbIds"),
        nothing=any(body_list(body, n) for n in unknown),
        crops=body_list(body, "commonCropNames") or None,
        page=page,
    )


search("variantsets", _search_variantsets)


# ---------------------------------------------------------------------------
# Call sets


def _callset(row: CallSetRow) -> dict[str, Any]:
    return {
        "additionalInfo": {"germplasmDbId": str(row.accession_id)},
        "callSetDbId": f"{row.dataset_id}:{row.sample_id}",
        "callSetName": row.sample_name,
        "created": iso(row.created_at),
        "externalReferences": [],
        "sampleDbId": str(row.sample_id),
        "studyDbId": None,
        "updated": None,
        "variantSetDbIds": [str(row.dataset_id)],
    }


def _callset_filter(get: Any, dataset_ids: list[int] | None = None) -> CallSetFilter:
    """A :class:`CallSetFilter` from ``get(name) -> list of texts`` (query or body)."""

    def ids(name: str) -> list[int] | None:
        raws = get(name)
        return db_ids(raws) if raws else None

    raw_pairs = get("callSetDbId")
    found = pairs(raw_pairs) if raw_pairs else None
    names = (get("callSetName") or []) + (get("sampleName") or [])
    if get("externalReferenceId") or get("externalReferenceSource"):
        found = []
    return CallSetFilter(
        dataset_ids=_both(dataset_ids, ids("variantSetDbId")),
        pairs=found,
        sample_ids=ids("sampleDbId"),
        sample_names=names or None,
        germplasm_ids=ids("germplasmDbId"),
        germplasm_names=get("germplasmName") or None,
        germplasm_puis=get("germplasmPUI") or None,
    )


def _callsets_response(flt: CallSetFilter) -> Response:
    page = paging()
    rows, total = callsets_page(
        get_session(), current_viewer(), flt, offset=page.offset, limit=page.page_size
    )
    return respond_list([_callset(r) for r in rows], total, page)


@call("callsets")
def callsets() -> Response:
    return _callsets_response(_callset_filter(query_list))


@call("callsets/{callSetDbId}")
def callset(callSetDbId: str) -> Response:
    found = parse_pair(callSetDbId)
    rows: list[CallSetRow] = []
    if found is not None:
        rows, _ = callsets_page(get_session(), current_viewer(), CallSetFilter(pairs=[found]))
    if not rows:
        abort(404, description=f"There is no call set with DbId {callSetDbId[:40]!r}.")
    return respond_one(_callset(rows[0]))


@call("variantsets/{variantSetDbId}/callsets")
def variantset_callsets(variantSetDbId: str) -> Response:
    return _callsets_response(_callset_filter(query_list, db_ids([variantSetDbId])))


def _search_callsets(body: Mapping[str, Any], page: Paging) -> tuple[list[dict[str, Any]], int]:
    rows, total = callsets_page(
        get_session(), current_viewer(), _callset_filter(_body_getter(body)),
        offset=page.offset, limit=page.page_size,
    )  # fmt: skip
    return [_callset(r) for r in rows], total


search("callsets", _search_callsets)


# ---------------------------------------------------------------------------
# References and reference sets: the contigs of each dataset's store


def _species(ds: DatasetRow) -> dict[str, Any]:
    return {"term": ds.scientific_name, "termURI": None}


def _reference_set(ds: DatasetRow) -> dict[str, Any]:
    return {
        "additionalInfo": {"variantSetDbId": str(ds.id)},
        "assemblyPUI": None,
        "commonCropName": ds.common_name or None,
        "description": f"The contigs of genotype dataset {ds.name}",
        "externalReferences": [],
        "isDerived": None,
        "md5checksum": None,
        "referenceSetDbId": str(ds.id),
        "referenceSetName": ds.reference or ds.name,
        "sourceAccessions": [],
        "sourceGermplasm": [],
        "sourceURI": None,
        "species": _species(ds),
    }


def _references(ds: DatasetRow) -> list[dict[str, Any]]:
    return [
        {
            "additionalInfo": {},
            "commonCropName": ds.common_name or None,
            "externalReferences": [],
            "isDerived": None,
            "length": c.length,
            "md5checksum": None,
            "referenceDbId": f"{ds.id}:{c.index}",
            "referenceName": c.name,
            "referenceSetDbId": str(ds.id),
            "referenceSetName": ds.reference or ds.name,
            "sourceAccessions": [],
            "sourceDivergence": None,
            "sourceGermplasm": [],
            "sourceURI": None,
            "species": _species(ds),
        }
        for c in contigs(ds)
    ]


_UNRECORDED = ("accession", "assemblyPUI", "md5checksum", "programDbId", "trialDbId",
               "studyDbId", "externalReferenceId", "externalReferenceSource")  # fmt: skip


@call("referencesets")
def referencesets() -> Response:
    page = paging()
    ids = _ids(query_list("referenceSetDbId"))
    if any(query_list(n) for n in _UNRECORDED):
        ids = []
    rows, total = datasets_page(
        get_session(), current_viewer(), dataset_ids=ids,
        crops=query_list("commonCropName") or None, offset=page.offset, limit=page.page_size,
    )  # fmt: skip
    return respond_list([_reference_set(r) for r in rows], total, page)


@call("referencesets/{referenceSetDbId}")
def referenceset(referenceSetDbId: str) -> Response:
    ds = get_dataset(
        get_session(), current_viewer(), db_id_or_404(referenceSetDbId, "reference set")
    )
    if ds is None:
        abort(404, description=f"There is no reference set with DbId {referenceSetDbId!r}.")
    return respond_one(_reference_set(ds))


def _length(name: str) -> int | None:
    raw = query_text(name)
    if raw is None:
        return None
    if _INT.fullmatch(raw) is None or not 0 <= int(raw) <= 2**40:
        raise InvalidParameterError(name, "must be a whole number from 0", raw[:40])
    return int(raw)


@call("references")
def references() -> Response:
    page = paging()
    low, high = _length("minLength"), _length("maxLength")
    derived = bool_value("isDerived", query_text("isDerived"), False)
    wanted = query_list("referenceDbId")
    ids = _both(_ids(query_list("referenceSetDbId")), _ids([p.split(":")[0] for p in wanted]))
    if wanted and not pairs(wanted):
        ids = []
    unrecorded = any(query_list(n) for n in _UNRECORDED) or derived
    rows, _ = datasets_page(
        get_session(), current_viewer(), dataset_ids=[] if unrecorded else ids,
        crops=query_list("commonCropName") or None, limit=MAX_PAGE,
    )  # fmt: skip
    data = [
        ref
        for ds in rows
        for ref in _references(ds)
        if (not wanted or ref["referenceDbId"] in wanted)
        and (low is None or (ref["length"] is not None and ref["length"] >= low))
        and (high is None or (ref["length"] is not None and ref["length"] <= high))
    ]
    return respond_list(data[page.offset : page.offset + page.page_size], len(data), page)


@call("references/{referenceDbId}")
def reference(referenceDbId: str) -> Response:
    found = parse_pair(referenceDbId)
    ds = get_dataset(get_session(), current_viewer(), found[0]) if found else None
    refs = [r for r in _references(ds) if r["referenceDbId"] == referenceDbId] if ds else []
    if not refs:
        abort(404, description=f"There is no reference with DbId {referenceDbId[:40]!r}.")
    return respond_one(refs[0])


# ---------------------------------------------------------------------------
# The allele matrix


def _dimension(name: str, raw: object, default: int, high: int, low: int = 0) -> int:
    if raw is None or raw == "":
        return default
    if isinstance(raw, str) and _INT.fullmatch(raw.strip()):
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise InvalidParameterError(
            name, f"must be a whole number from {low} to {high}", str(raw)[:40]
        )
    return raw


def _matrix_paging(source: Mapping[str, Any], body: bool) -> dict[str, Paging]:
    """``{"VARIANTS": Paging, "CALLSETS": Paging}`` from the query or a body's ``pagination``."""
    raw: dict[str, tuple[object, object]] = {
        "VARIANTS": (source.get("dimensionVariantPage"), source.get("dimensionVariantPageSize")),
        "CALLSETS": (source.get("dimensionCallSetPage"), source.get("dimensionCallSetPageSize")),
    }
    if body:
        raw = {"VARIANTS": (None, None), "CALLSETS": (None, None)}
        items = source.get("pagination") or []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise InvalidParameterError("pagination", "must be a list of objects", "")
        for item in items:
            dim = str(item.get("dimension", "")).upper()
            if dim not in raw:
                raise InvalidParameterError(
                    "pagination", "dimension must be VARIANTS or CALLSETS", dim[:40]
                )
            raw[dim] = (item.get("page"), item.get("pageSize"))
    return {
        dim: Paging(
            _dimension(f"{dim.lower()} page", page, 0, MAX_PAGE),
            _dimension(
                f"{dim.lower()} pageSize",
                size,
                DEFAULT_DIMENSION_PAGE_SIZE,
                MAX_DIMENSION_PAGE_SIZE,
                low=1,
            ),
        )  # fmt: skip
        for dim, (page, size) in raw.items()
    }


def _matrix_fields(names: list[str], abbreviations: list[str]) -> list[str]:
    if not names and not abbreviations:
        return ["GT"]
    by_name = {v.lower(): k for k, v in FIELD_NAMES.items()}
    wanted = {a.upper() for a in abbreviations} | {by_name.get(n.lower(), "") for n in names}
    return [k for k in FIELD_NAMES if k in wanted]


def allele_matrix(get: Any, flags: Mapping[str, Any], dims: dict[str, Paging]) -> dict[str, Any]:
    """The allele matrix a request asks for: ``get(name)`` lists filters, ``flags`` the format."""
    fmt = Format.read(flags)
    preview = bool_value("preview", flags.get("preview"), False)
    fields = _matrix_fields(get("dataMatrixName"), get("dataMatrixAbbreviation"))
    dataset_ids = _ids(get("variantSetDbId"))
    raw_callsets = get("callSetDbId")
    if raw_callsets:
        found = {p[0] for p in pairs(raw_callsets)}
        dataset_ids = [i for i in found if dataset_ids is None or i in dataset_ids]
    scopes = variant_scopes(
        dataset_ids=dataset_ids,
        variant_ids=get("variantDbId") or None,
        regions=get("positionRange") or None,
    )
    flt = _callset_filter(get, [s.ds.id for s in scopes])
    vpage, cpage = dims["VARIANTS"], dims["CALLSETS"]
    columns, n_callsets = callsets_page(
        get_session(), current_viewer(), flt, offset=cpage.offset, limit=cpage.page_size
    )
    n_variants = sum(sum(b - a for a, b in s.runs) for s in scopes)
    rows = page_scopes(scopes, vpage)
    variant_db_ids = [f"{s.ds.id}:{r}" for s, runs in rows for a, b in runs for r in range(a, b)]
    matrices = []
    if not preview:
        matrices = _matrices(rows, columns, fields, fmt, len(variant_db_ids))
    return {
        "callSetDbIds": [f"{c.dataset_id}:{c.sample_id}" for c in columns],
        "dataMatrices": matrices,
        **fmt.extra(),
        "pagination": [
            _dimension_paging("VARIANTS", vpage, n_variants),
            _dimension_paging("CALLSETS", cpage, n_callsets),
        ],
        "variantDbIds": variant_db_ids,
        "variantSetDbIds": [str(s.ds.id) for s in scopes],
    }


def _dimension_paging(dimension: str, page: Paging, total: int) -> dict[str, Any]:
    return {
        "dimension": dimension,
        "page": page.page,
        "pageSize": page.page_size,
        "totalCount": total,
        "totalPages": math.ceil(total / page.page_size) if total else 0,
    }


def _matrices(
    rows: list[tuple[Scope, list]],
    columns: list[CallSetRow],
    fields: list[str],
    fmt: Format,
    n_rows: int,
) -> list[dict[str, Any]]:
    out = {f: np.full((n_rows, len(columns)), fmt.unknown, dtype=object) for f in fields}
    top = 0
    for scope, runs in rows:
        height = sum(b - a for a, b in runs)
        mine = [j for j, c in enumerate(columns) if c.dataset_id == scope.ds.id]
        if mine:
            part = read_runs(
                store_path(scope.ds), runs, [columns[j].column_index for j in mine],
                fields=[f for f in fields if f != "GT"],
            )  # fmt: skip
            if "GT" in out:
                out["GT"][top : top + height, mine] = genotype_strings(part.gt, fmt)
            for key, values in part.fields.items():
                texts = np.where(values >= 0, values.astype(str).astype(object), fmt.unknown)
                out[key][top : top + height, mine] = texts
        top += height
    return [
        {
            "dataMatrix": out[f].tolist(),
            "dataMatrixAbbreviation": f,
            "dataMatrixName": FIELD_NAMES[f],
            "dataType": "string" if f == "GT" else "integer",
        }
        for f in fields
        if f == "GT" or any(f in shape_fields(s.ds) for s, _ in rows)
    ]


_SINGULAR = {n: n + "s" for n in ("dataMatrixName", "dataMatrixAbbreviation", "positionRange",
             "germplasmName", "germplasmPUI", "germplasmDbId", "sampleDbId", "callSetDbId",
             "variantDbId", "variantSetDbId")}  # fmt: skip


def _query_getter(name: str) -> list[str]:
    if name == "positionRange":  # a range may hold commas ("1:1,000-2,000")
        return [t for t in (query_text(name),) if t]
    if name.startswith("dataMatrix"):  # plural in the query string too
        return query_list(name + "s")
    return query_list(name) if name in _SINGULAR else []


@call("allelematrix")
def allelematrix() -> Response:
    flags = {k: request.args.get(k) for k in ("unknownString", "sepPhased", "sepUnphased",
                                              "expandHomozygotes", "preview")}  # fmt: skip
    return respond_one(allele_matrix(_query_getter, flags, _matrix_paging(request.args, False)))


def _matrix_of_body(body: Mapping[str, Any]) -> dict[str, Any]:
    return allele_matrix(
        lambda name: body_list(body, _SINGULAR[name]) if name in _SINGULAR else [],
        body,
        _matrix_paging(body, True),
    )


search_answering("allelematrix", lambda body, _page: respond_one(_matrix_of_body(body)))
