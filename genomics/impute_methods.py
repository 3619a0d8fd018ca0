"""The imputation methods on a genotype array: LD-kNNi (neighbours chosen by linkage disequilibrium), the per-marker mode, and Beagle for diploids."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from breedhub.genomics.exceptions import ToolError

_BUDGET = 1 << 23  # elements in the largest temporary array of the neighbour search


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
