"""Imputation of missing genotype calls, for any ploidy.

Methods
-------
``"ldknni"``
    LD-kNNi (Money et al. 2015): for a missing call at marker *j*, take the
    ``n_ld_markers`` markers within ``window`` markers of *j* (same contig)
    in highest linkage disequilibrium with *j* (r² of dosages over the
    samples called at both), find the ``k`` samples called at *j* nearest to
    the sample being imputed on those markers (mean absolute dosage
    difference over the markers both called), and take their majority
    dosage, each neighbour weighted by ``1 / (distance + 0.01)``. Calls with
    no qualifying neighbour (at least half of the LD markers called in both
    samples) take the marker's most frequent dosage.
``"frequency"``
    The most frequent dosage of the marker among called samples.
``"beagle"``
    Debian's ``beagle`` (Browning et al. 2021), diploids only.

Imputed genotypes are written as the dosage's sorted alleles: dosage 2 in a
tetraploid is ``0/0/1/1``. At multi-allelic sites LD-kNNi and the frequency
method work on the count of non-reference alleles and write allele 1 for
each; called genotypes are never changed.

The arithmetic is vectorised numpy (no numba): r² comes from integer sums
computed as float32 matrix products (exact below 2**24), and neighbour
distances from indicator matrix products, so the cost is a few BLAS calls
per block of markers.

The methods themselves are :mod:`genomics.impute_methods`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from breedhub.base.checks import check_int, check_ploidy
from breedhub.base.files import atomic_output
from breedhub.base.provenance import jsonable, provenance
from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.impute_methods import (
    _alleles_of_dosage,
    _beagle,
    _check_beagle,
    _dosage,
    _ldknni,
    _mode_dosage,
)
from breedhub.genomics.qc_vcf import (
    check_vcf_paths,
    index_vcf,
    iter_genotype_chunks,
    open_vcf_reader,
    read_headers,
    write_json,
)

__all__ = ["ImputeReport", "ImputeResult", "impute_genotypes", "impute_vcf", "masked_accuracy"]

METHODS = ("ldknni", "frequency", "beagle")


@dataclass
class ImputeResult:
    """Genotypes with every missing call imputed.

    Attributes
    ----------
    gt
        (variants, samples, ploidy) int8 allele indexes, no -1 left.
    imputed
        (variants, samples) True where the call was missing and is imputed.
    method
        The method used.
    n_fallback
        Calls LD-kNNi could not impute from neighbours and gave the marker's
        most frequent dosage instead.
    """

    gt: np.ndarray
    imputed: np.ndarray
    method: str
    n_fallback: int = 0

    @property
    def dosage(self) -> np.ndarray:
        """(variants, samples) count of non-reference alleles."""
        return (self.gt > 0).sum(axis=2, dtype=np.int8)


@dataclass
class ImputeReport:
    """What :func:`impute_vcf` did; ``accuracy`` is :func:`masked_accuracy`'s result."""

    input: str
    output: str
    method: str
    ploidy: int
    n_variants: int = 0
    n_samples: int = 0
    n_missing: int = 0
    n_imputed: int = 0
    n_fallback: int = 0
    imputed_per_contig: dict[str, int] = field(default_factory=dict)
    accuracy: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return jsonable(asdict(self))


# --------------------------------------------------------------------------- checks


def _check_gt(gt: object, ploidy: int | None) -> tuple[np.ndarray, int]:
    if not isinstance(gt, np.ndarray):
        raise TypeError(f"gt must be a numpy array, not {type(gt).__name__}")
    if gt.ndim != 3:
        raise ValueError(f"gt must be (variants, samples, ploidy), not of shape {gt.shape}")
    if gt.dtype.kind not in "iu":
        raise TypeError(f"gt must hold integer allele indexes, not {gt.dtype}")
    if ploidy is None:
        ploidy = gt.shape[2]
    ploidy = check_ploidy(ploidy)
    if gt.shape[2] != ploidy:
        raise ValueError(f"gt has {gt.shape[2]} alleles per call but ploidy={ploidy}")
    if gt.size and gt.min() < -1:
        bad = np.argwhere(gt < -1)[0].tolist()
        raise ValueError(f"gt holds values below -1 (first at {bad}); use -1 for missing")
    return gt, ploidy


def _check_sites(
    contig: object, position: object, n_variants: int
) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(contig)
    p = np.asarray(position)
    if c.ndim != 1 or len(c) != n_variants:
        raise ValueError(f"contig must be 1-D with one entry per variant ({n_variants})")
    if p.ndim != 1 or len(p) != n_variants or (p.size and p.dtype.kind not in "iu"):
        raise ValueError(f"position must be 1-D integers, one per variant ({n_variants})")
    return c.astype(str), p.astype(np.int64)


# --------------------------------------------------------------------------- API


def impute_genotypes(
    gt: np.ndarray,
    *,
    contig: Sequence[Any] | np.ndarray,
    position: Sequence[int] | np.ndarray,
    ploidy: int | None = None,
    method: str = "ldknni",
    k: int = 5,
    n_ld_markers: int = 20,
    window: int = 100,
    threads: int = 1,
    seed: int = 0,
) -> ImputeResult:
    """Impute every missing call of a genotype array.

    Parameters
    ----------
    gt
        (variants, samples, ploidy) allele indexes, -1 missing. A call with
        any allele missing is imputed whole.
    contig, position
        Contig and position of each variant; markers are ordered by them for
        the LD search (the result keeps the input order).
    ploidy
        Alleles per call; ``gt.shape[2]`` when None.
    method
        ``"ldknni"``, ``"frequency"`` or ``"beagle"`` (module description).
    k
        Nearest samples that vote (LD-kNNi).
    n_ld_markers
        Markers in highest LD with the target used for distances (LD-kNNi).
    window
        Markers on each side of the target, same contig, searched for LD.
    threads, seed
        Passed to beagle.

    Returns
    -------
    ImputeResult

    Raises
    ------
    TypeError, ValueError
        For arguments of the wrong kind, shape or value.
    ToolError
        For ``method="beagle"`` when beagle is missing, fails, or the data
        are not diploid.

    References
    ----------
    Money D, Gardner K, Migicovsky Z, Schwaninger H, Zhong G-Y, Myles S
    (2015). LinkImpute: fast and accurate genotype imputation for nonmodel
    organisms. G3 5:2383-2390.

    Browning BL, Tian X, Zhou Y, Browning SR (2021). Fast two-stage phasing
    of large-scale sequence data. American Journal of Human Genetics
    108:1880-1890.

    Examples
    --------
    Four markers in perfect LD; sample 3 is missing marker 0 and matches
    samples 0 and 1 elsewhere, so it takes their dosage (tetraploid).

    >>> d = np.array([[0, 0, 4, -1, 4], [0, 0, 4, 0, 4], [1, 1, 3, 1, 3], [2, 2, 2, 2, 2]])
    >>> gt = _alleles_of_dosage(np.maximum(d, 0), 4)
    >>> gt[d < 0] = -1
    >>> r = impute_genotypes(gt, contig=["1"] * 4, position=[1, 2, 3, 4], k=2)
    >>> r.gt[0, 3].tolist(), int(r.imputed.sum())
    ([0, 0, 0, 0], 1)
    """
    gt, ploidy = _check_gt(gt, ploidy)
    contig_a, position_a = _check_sites(contig, position, gt.shape[0])
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    k = check_int("k", k, minimum=1)
    n_ld_markers = check_int("n_ld_markers", n_ld_markers, minimum=1)
    window = check_int("window", window, minimum=1)
    threads = check_int("threads", threads, minimum=1)
    seed = check_int("seed", seed, minimum=0)

    order = np.lexsort((position_a, contig_a))
    g = np.ascontiguousarray(gt[order]).astype(np.int8)
    d, called = _dosage(g)
    missing = ~called
    n_fallback = 0
    if method == "beagle":
        filled = _beagle(g, contig_a[order], position_a[order], threads=threads, seed=seed)
        new = np.where(missing[:, :, None], filled, g)
    else:
        mode = _mode_dosage(d, ploidy)
        est = np.broadcast_to(mode[:, None], d.shape).copy()
        if method == "ldknni" and missing.any():
            knn = _ldknni(
                d,
                called,
                contig_a[order],
                ploidy=ploidy,
                k=k,
                n_ld=n_ld_markers,
                window=window,
            )
            n_fallback = int((missing & (knn < 0)).sum())
            est = np.where(knn >= 0, knn, est)
        new = np.where(missing[:, :, None], _alleles_of_dosage(est, ploidy), g)
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return ImputeResult(
        gt=new[back].astype(np.int8),
        imputed=missing[back],
        method=method,
        n_fallback=n_fallback,
    )


def masked_accuracy(
    gt: np.ndarray,
    *,
    contig: Sequence[Any] | np.ndarray,
    position: Sequence[int] | np.ndarray,
    fraction: float = 0.05,
    seed: int = 0,
    methods: Sequence[str] = ("ldknni", "frequency"),
    **kw: Any,
) -> dict[str, Any]:
    """Hide a random fraction of the known calls, impute them, and score each method.

    Parameters
    ----------
    gt, contig, position
        As for :func:`impute_genotypes`.
    fraction
        Fraction of the called genotypes to hide (at least one is).
    seed
        Seed of the choice of calls to hide.
    methods
        Methods to compare.
    **kw
        Options of :func:`impute_genotypes` (``ploidy``, ``k``, ``window``...).

    Returns
    -------
    dict
        ``n_masked``, ``fraction``, ``seed`` and ``methods``: method ->
        ``{"accuracy", "by_dosage", "seconds"}``, where accuracy is the
        fraction of hidden calls whose imputed dosage equals the true one
        and ``by_dosage`` the same per true dosage.

    Raises
    ------
    ValueError
        If ``fraction`` is not in (0, 1), a method is unknown, or no call is
        known.

    References
    ----------
    Money D, Gardner K, Migicovsky Z, Schwaninger H, Zhong G-Y, Myles S
    (2015). LinkImpute: fast and accurate genotype imputation for nonmodel
    organisms. G3 5:2383-2390.

    Examples
    --------
    >>> from breedhub.genomics.simulate import gene_drop
    >>> sim = gene_drop([f"s{i}" for i in range(40)], [None] * 40, [None] * 40,
    ...                 ploidy=2, n_markers=300, n_chromosomes=1, seed=1)
    >>> acc = masked_accuracy(sim.genotype_calls, contig=sim.chrom, position=sim.pos_bp)
    >>> acc["methods"]["ldknni"]["accuracy"] > acc["methods"]["frequency"]["accuracy"]
    True
    """
    gt, _ = _check_gt(gt, kw.get("ploidy"))
    if isinstance(fraction, bool) or not isinstance(fraction, int | float):
        raise TypeError(f"fraction must be a number, not {type(fraction).__name__}")
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
    seed = check_int("seed", seed, minimum=0)
    if isinstance(methods, str):
        methods = (methods,)
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"methods must be among {', '.join(METHODS)}, not {m!r}")
    d, called = _dosage(gt)
    known = np.flatnonzero(called.ravel())
    if known.size == 0:
        raise ValueError("gt has no called genotype to hide")
    rng = np.random.default_rng(seed)
    n_mask = max(1, round(fraction * known.size))
    hide = rng.choice(known, size=n_mask, replace=False)
    masked = gt.copy()
    masked.reshape(-1, gt.shape[2])[hide] = -1
    truth = d.ravel()[hide]
    result: dict[str, Any] = {
        "n_masked": int(n_mask),
        "fraction": float(fraction),
        "seed": seed,
        "methods": {},
    }
    for m in methods:
        t0 = time.perf_counter()
        res = impute_genotypes(masked, contig=contig, position=position, method=m, **kw)
        seconds = time.perf_counter() - t0
        est = res.dosage.ravel()[hide]
        by = {
            str(c): float((est[truth == c] == c).mean())
            for c in range(gt.shape[2] + 1)
            if (truth == c).any()
        }
        result["methods"][m] = {
            "accuracy": float((est == truth).mean()),
            "by_dosage": by,
            "seconds": round(seconds, 3),
        }
    return result


def impute_vcf(
    vcf: str | os.PathLike[str],
    out_vcf: str | os.PathLike[str],
    *,
    ploidy: int,
    method: str = "auto",
    report_json: str | os.PathLike[str] | None = None,
    threads: int = 1,
    seed: int = 0,
    k: int = 5,
    n_ld_markers: int = 20,
    window: int = 100,
    mask_fraction: float = 0.05,
) -> ImputeReport:
    """Impute the missing genotypes of a VCF; write it, bgzipped and indexed.

    The records are copied with pysam and only the missing GTs are set; all
    other fields are kept. Contigs are imputed one at a time. The report
    gives the number of calls imputed and the masked accuracy of the chosen
    method against the frequency method (:func:`masked_accuracy`).

    Parameters
    ----------
    vcf
        Input VCF with FORMAT/GT, sorted by position.
    out_vcf
        Output, ``.vcf.gz``, with a tabix index beside it.
    ploidy
        Alleles per genotype.
    method
        ``"auto"`` (LD-kNNi), ``"ldknni"``, ``"frequency"`` or ``"beagle"``
        (diploids only; needs the ``beagle`` command).
    report_json
        Where to write the report as JSON.
    threads
        BLAS threads for LD-kNNi; ``nthreads`` for beagle.
    seed
        Seed of the masked-accuracy draw and of beagle.
    k, n_ld_markers, window
        LD-kNNi options (:func:`impute_genotypes`).
    mask_fraction
        Fraction of known calls hidden to measure accuracy.

    Returns
    -------
    ImputeReport

    Raises
    ------
    InputFileError
        If the VCF is missing, unreadable, or its genotypes do not fit ``ploidy``.
    ToolError
        For beagle when it is missing, fails, or the data are not diploid.

    References
    ----------
    Money D, Gardner K, Migicovsky Z, Schwaninger H, Zhong G-Y, Myles S
    (2015). LinkImpute: fast and accurate genotype imputation for nonmodel
    organisms. G3 5:2383-2390.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> rows = [f"1\\t{p}\\t.\\tA\\tG\\t50\\t.\\t.\\tGT\\t0/0/1/1\\t./././.\\t0/0/1/1"
    ...         for p in (10, 20, 30)]
    >>> _ = (d / "in.vcf").write_text(
    ...     "##fileformat=VCFv4.2\\n##contig=<ID=1>\\n"
    ...     '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\\n'
    ...     "#CHROM\\tPOS\\tID\\tREF\\tALT\\tQUAL\\tFILTER\\tINFO\\tFORMAT\\ta\\tb\\tc\\n"
    ...     + "\\n".join(rows) + "\\n")
    >>> r = impute_vcf(d / "in.vcf", d / "out.vcf.gz", ploidy=4)
    >>> r.n_imputed, r.method
    (3, 'ldknni')
    """
    src, dst = check_vcf_paths(vcf, out_vcf)
    ploidy = check_ploidy(ploidy)
    if method not in ("auto", *METHODS):
        raise ValueError(f"method must be auto, {', '.join(METHODS)}; not {method!r}")
    threads = check_int("threads", threads, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    k = check_int("k", k, minimum=1)
    n_ld_markers = check_int("n_ld_markers", n_ld_markers, minimum=1)
    window = check_int("window", window, minimum=1)
    if isinstance(mask_fraction, bool) or not isinstance(mask_fraction, int | float):
        raise TypeError(f"mask_fraction must be a number, not {type(mask_fraction).__name__}")
    if not 0 < mask_fraction < 1:
        raise ValueError(f"mask_fraction must be between 0 and 1, not {mask_fraction}")
    if report_json is not None and not isinstance(report_json, str | os.PathLike):
        raise TypeError(f"report_json must be a path or None, not {type(report_json).__name__}")
    chosen = "ldknni" if method == "auto" else method
    if chosen == "beagle":
        _check_beagle(ploidy)
    headers = read_headers(src)
    t0 = time.perf_counter()
    chunks = list(iter_genotype_chunks(src, ploidy=ploidy, fields=[]))
    report = ImputeReport(
        input=str(src),
        output=str(dst),
        method=chosen,
        ploidy=ploidy,
        n_samples=len(headers.samples),
    )
    if chunks:
        gt = np.concatenate([c["calldata/GT"] for c in chunks])
        chrom = np.concatenate([c["variants/CHROM"] for c in chunks]).astype(str)
        pos = np.concatenate([c["variants/POS"] for c in chunks]).astype(np.int64)
    else:
        gt = np.zeros((0, len(headers.samples), ploidy), dtype=np.int8)
        chrom, pos = np.zeros(0, dtype=str), np.zeros(0, dtype=np.int64)
    del chunks
    report.n_variants = gt.shape[0]
    options = {"k": k, "n_ld_markers": n_ld_markers, "window": window, "threads": threads}

    from threadpoolctl import threadpool_limits

    new = gt.copy()
    imputed = np.zeros(gt.shape[:2], dtype=bool)
    with threadpool_limits(limits=threads, user_api="blas"):
        if chosen == "beagle" and gt.shape[0]:
            res = impute_genotypes(
                gt, contig=chrom, position=pos, method="beagle", seed=seed, **options
            )
            new, imputed = res.gt, res.imputed
        else:
            for c in dict.fromkeys(chrom.tolist()):
                sel = np.flatnonzero(chrom == c)
                res = impute_genotypes(
                    gt[sel], contig=chrom[sel], position=pos[sel], method=chosen, **options
                )
                new[sel], imputed[sel] = res.gt, res.imputed
                report.n_fallback += res.n_fallback
        report.n_missing = int((~(gt >= 0).all(axis=2)).sum())
        report.n_imputed = int(imputed.sum())
        for c in dict.fromkeys(chrom.tolist()):
            report.imputed_per_contig[c] = int(imputed[chrom == c].sum())
        if int((gt >= 0).all(axis=2).sum()) >= 2:
            compare = (chosen,) if chosen == "frequency" else (chosen, "frequency")
            report.accuracy = masked_accuracy(
                gt,
                contig=chrom,
                position=pos,
                fraction=mask_fraction,
                seed=seed,
                methods=compare,
                **options,
            )
        else:
            report.notes.append("Too few known calls to measure accuracy.")
    _write_imputed(src, dst, new, imputed, chrom, pos, chosen)
    report.seconds = round(time.perf_counter() - t0, 3)
    report.provenance = provenance(
        "breedhub.genomics.impute.impute_vcf",
        inputs=[src],
        parameters={
            "ploidy": ploidy,
            "method": chosen,
            "seed": seed,
            "mask_fraction": mask_fraction,
            **options,
        },
    ).to_dict()
    if report_json is not None:
        write_json(report.to_dict(), report_json)
    return report


def _write_imputed(
    src: Path,
    dst: Path,
    gt: np.ndarray,
    imputed: np.ndarray,
    chrom: np.ndarray,
    pos: np.ndarray,
    method: str,
) -> None:
    import pysam

    from breedhub.base.version import __version__

    reader = open_vcf_reader(src, list(dict.fromkeys(chrom.tolist())))
    header = reader.header.copy()
    header.add_meta("breedhub_impute_vcf", f"breedhub {__version__}; method={method}")
    with atomic_output(dst) as tmp, atomic_output(f"{dst}.tbi") as tmp_index:
        n_written = 0
        with pysam.VariantFile(str(tmp), "wz", header=header) as writer:
            try:
                for v, rec in enumerate(reader):
                    if v >= len(pos) or rec.pos != pos[v] or rec.contig != chrom[v]:
                        raise InputFileError(
                            src,
                            "scikit-allel and pysam read different records; is it well formed?",
                            record=f"record {v + 1}",
                        )
                    for s in np.flatnonzero(imputed[v]).tolist():
                        rec.samples[s]["GT"] = tuple(gt[v, s].tolist())
                    writer.write(rec)
                    n_written += 1
            except (OSError, ValueError) as e:
                if isinstance(e, InputFileError):
                    raise
                raise InputFileError(src, f"pysam cannot parse a record: {e}") from e
        reader.close()
        if n_written != len(pos):
            raise InputFileError(src, "pysam reads fewer records than scikit-allel")
        index_vcf(tmp, tmp_index, src)
