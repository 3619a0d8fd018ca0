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
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from breedhub.base.checks import check_int, check_ploidy
from breedhub.base.provenance import jsonable, provenance
from breedhub.genomics.exceptions import InputFileError, ToolError
from breedhub.genomics.files import atomic_output
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
_BUDGET = 1 << 23  # elements in the largest temporary array of the neighbour search


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


# --------------------------------------------------------------------------- numerics


def _dosage(gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    called = np.asarray((gt >= 0).all(axis=2))
    d = (gt > 0).sum(axis=2, dtype=np.int8)
    d[~called] = -1
    return d, called


def _mode_dosage(d: np.ndarray, ploidy: int) -> np.ndarray:
    """Most frequent called dosage per marker (the lowest on ties; 0 where none is called)."""
    counts = np.stack([(d == c).sum(axis=1) for c in range(ploidy + 1)], axis=1)
    return counts.argmax(axis=1).astype(np.int8)


def _ld_neighbours(
    x: np.ndarray,
    m: np.ndarray,
    start: int,
    stop: int,
    *,
    n_ld: int,
    window: int,
    block: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """For markers start..stop-1 of one contig: the n_ld markers in highest r² with each.

    ``x`` is the float32 dosage with 0 where missing, ``m`` the float32 called
    mask. Returns (markers, n_ld) marker indexes and a mask of those with r² > 0.
    """
    n_markers = stop - start
    idx = np.zeros((n_markers, n_ld), dtype=np.int64)
    ok = np.zeros((n_markers, n_ld), dtype=bool)
    x2 = x * x
    for c in range(start, stop, block):
        ce = min(c + block, stop)
        lo, hi = max(start, c - window), min(stop, ce + window)
        b, w = ce - c, hi - lo
        if w < 2:
            continue
        # Sums over samples called at both markers: exact integers in float32.
        a = np.concatenate([x[c:ce], m[c:ce], x2[c:ce]]) @ m[lo:hi].T
        sx, n, sxx = (a[:b].astype(np.float64), a[b : 2 * b].astype(np.float64), a[2 * b :])
        a = np.concatenate([x[c:ce], m[c:ce]]) @ x[lo:hi].T
        sxy, sy = a[:b].astype(np.float64), a[b:].astype(np.float64)
        syy = (m[c:ce] @ x2[lo:hi].T).astype(np.float64)
        num = (n * sxy - sx * sy) ** 2
        den = (n * sxx.astype(np.float64) - sx * sx) * (n * syy - sy * sy)
        r2 = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        t = np.arange(c, ce)[:, None]
        cand = np.arange(lo, hi)[None, :]
        r2[(np.abs(t - cand) > window) | (t == cand)] = -1.0
        top = min(n_ld, w - 1)
        part = np.argpartition(-r2, top - 1, axis=1)[:, :top]
        idx[c - start : ce - start, :top] = lo + part
        ok[c - start : ce - start, :top] = np.take_along_axis(r2, part, axis=1) > 0
    return idx, ok


def _knn_targets(
    d: np.ndarray,
    called: np.ndarray,
    targets: np.ndarray,
    nbr: np.ndarray,
    nbr_ok: np.ndarray,
    *,
    ploidy: int,
    k: int,
    out: np.ndarray,
) -> None:
    """Impute the missing calls of ``targets`` from their k nearest samples; -1 where none."""
    miss = ~called[targets]
    q = int(miss.sum(axis=1).max(initial=0))
    if q == 0:
        return
    n_t, n_ld = nbr.shape
    n = d.shape[1]
    # Queries: the missing samples of each target, padded to q.
    query = np.argsort(~miss, axis=1, kind="stable")[:, :q]
    qvalid = np.take_along_axis(miss, query, axis=1)
    mn = called[nbr] & nbr_ok[:, :, None]  # (T, L, n)
    dn = np.where(mn, d[nbr], 0).astype(np.int8)
    thresholds = np.arange(1, ploidy + 1, dtype=np.int8)
    ind = (dn[:, :, None, :] >= thresholds[None, None, :, None]).reshape(n_t, -1, n)
    ind = ind.astype(np.float32)
    mf, df = mn.astype(np.float32), dn.astype(np.float32)
    take = query[:, None, :]
    mq = np.take_along_axis(mf, take, axis=2).transpose(0, 2, 1)  # (T, q, L)
    dq = np.take_along_axis(df, take, axis=2).transpose(0, 2, 1)
    iq = np.take_along_axis(ind, take, axis=2).transpose(0, 2, 1)
    shared = mq @ mf  # (T, q, n) markers called in both samples
    # |a - b| summed over markers = sum over thresholds t of [a >= t] xor [b >= t].
    dist = dq @ mf + mq @ df - 2 * (iq @ ind)
    min_shared = np.maximum(1, np.ceil(nbr_ok.sum(axis=1) / 2))[:, None, None]
    good = called[targets][:, None, :] & (shared >= min_shared)
    dist = np.where(good, dist / np.maximum(shared, 1), np.inf)
    kk = min(k, n)
    near = np.argpartition(dist, kk - 1, axis=2)[:, :, :kk]
    dnear = np.take_along_axis(dist, near, axis=2)
    weight = np.where(np.isfinite(dnear), 1.0 / (dnear + 0.01), 0.0)
    vals = d[targets][np.arange(n_t)[:, None, None], near]
    votes = np.stack([(weight * (vals == c)).sum(axis=2) for c in range(ploidy + 1)], axis=2)
    best = np.where(weight.sum(axis=2) > 0, votes.argmax(axis=2), -1)
    rows = np.broadcast_to(targets[:, None], query.shape)
    out[rows[qvalid], query[qvalid]] = best[qvalid]


def _ldknni(
    d: np.ndarray,
    called: np.ndarray,
    contig: np.ndarray,
    *,
    ploidy: int,
    k: int,
    n_ld: int,
    window: int,
) -> np.ndarray:
    """(variants, samples) imputed dosage from neighbours, -1 where none qualified."""
    n_var, n = d.shape
    out = np.full(d.shape, -1, dtype=np.int8)
    x = np.where(called, d, 0).astype(np.float32)
    m = called.astype(np.float32)
    bounds = np.flatnonzero(np.r_[True, contig[1:] != contig[:-1], True])
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        if stop - start < 2:
            continue
        nbr, nbr_ok = _ld_neighbours(x, m, start, stop, n_ld=n_ld, window=window)
        q_max = int((~called[start:stop]).sum(axis=1).max(initial=0))
        per_target = n_ld * max(ploidy, q_max) * n
        step = max(1, min(256, _BUDGET // max(per_target, 1)))
        for a in range(start, stop, step):
            b = min(a + step, stop)
            rows = slice(a - start, b - start)
            _knn_targets(
                d,
                called,
                np.arange(a, b),
                nbr[rows],
                nbr_ok[rows],
                ploidy=ploidy,
                k=k,
                out=out,
            )
    return out


def _alleles_of_dosage(dosage: np.ndarray, ploidy: int) -> np.ndarray:
    """(..., ploidy) sorted alleles 0/1 with ``dosage`` ones."""
    return (np.arange(ploidy) >= ploidy - dosage[..., None]).astype(np.int8)


# --------------------------------------------------------------------------- beagle


def _check_beagle(ploidy: int) -> str:
    """The path of the beagle command; ToolError when the data or the machine won't do."""
    if ploidy != 2:
        raise ToolError(
            f"beagle imputes diploid genotypes only and ploidy is {ploidy}; use method='ldknni'"
        )
    exe = shutil.which("beagle")
    if exe is None:
        raise ToolError(
            "method='beagle' needs the beagle command (Debian package 'beagle'), "
            "which is not on PATH; use method='ldknni'"
        )
    return exe


def _beagle(
    gt: np.ndarray, contig: np.ndarray, position: np.ndarray, *, threads: int, seed: int
) -> np.ndarray:
    """Genotypes imputed by Debian's ``beagle``: (variants, samples, 2), input order."""
    import allel

    exe = _check_beagle(gt.shape[2])
    n_var, n = gt.shape[:2]
    top = int(gt.max(initial=1))
    alts = ",".join("CGTN"[: max(1, min(top, 4))])
    if top > 4:
        raise ToolError("beagle: more than 5 alleles at a site cannot be passed on")
    allele = np.array([".", "0", "1", "2", "3", "4"], dtype=object)
    calls = allele[gt[:, :, 0] + 1] + "/" + allele[gt[:, :, 1] + 1]
    calls[(gt < 0).any(axis=2)] = "./."
    with tempfile.TemporaryDirectory(prefix="breedhub-beagle-") as tmp:
        src, prefix = Path(tmp) / "in.vcf", Path(tmp) / "out"
        with open(src, "w", encoding="ascii") as fh:
            fh.write("##fileformat=VCFv4.2\n")
            fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
            for c in dict.fromkeys(contig.tolist()):
                fh.write(f"##contig=<ID={c}>\n")
            names = "\t".join(f"s{i}" for i in range(n))
            fh.write(f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{names}\n")
            for v in range(n_var):
                fh.write(f"{contig[v]}\t{position[v]}\t.\tA\t{alts}\t.\t.\t.\tGT\t")
                fh.write("\t".join(calls[v].tolist()) + "\n")
        cmd = [exe, f"gt={src}", f"out={prefix}", f"nthreads={threads}", f"seed={seed}"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        except OSError as e:
            raise ToolError(f"beagle could not start: {e}") from e
        out = prefix.with_suffix(".vcf.gz")
        if proc.returncode != 0 or not out.exists():
            log = (proc.stdout + proc.stderr)[-2000:]
            raise ToolError(f"beagle failed (exit {proc.returncode}): {log.strip()}")
        data = allel.read_vcf(str(out), fields=["calldata/GT"], numbers={"calldata/GT": 2})
    res = None if data is None else data["calldata/GT"]
    if res is None or res.shape != gt.shape:
        raise ToolError(f"beagle returned {None if res is None else res.shape}, not {gt.shape}")
    return np.sort(res, axis=2)


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
