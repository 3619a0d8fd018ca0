"""The population report of a store or VCF: its statistics as JSON and PNG plots (:func:`population_report`)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from breedhub.base.checks import check_ploidy
from breedhub.base.files import atomic_output
from breedhub.base.provenance import jsonable, provenance
from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.popgen import _as_dosage, allele_frequencies, heterozygosity, ld_decay, pca
from breedhub.genomics.qc_vcf import iter_genotype_chunks, read_headers, write_json

# --------------------------------------------------------------------------- report


def _read_store(path: Path, ploidy: int | None) -> dict[str, Any]:
    import h5py

    from breedhub.genomics.variables import BY_NAME

    need = {
        "samples": BY_NAME["sample_id"].path,
        "chrom": BY_NAME["variant_contig"].path,
        "pos": BY_NAME["variant_position"].path,
        "gt": BY_NAME["call_genotype"].path,
    }
    with h5py.File(path, "r") as f:
        for ds in need.values():
            if ds not in f:
                raise InputFileError(path, f"the store has no {ds} dataset")
        gt = f[need["gt"]][:]
        stored = int(f.attrs.get("ploidy", gt.shape[2] if gt.ndim == 3 else 0))
        out = {
            "samples": [
                s.decode() if isinstance(s, bytes) else str(s) for s in f[need["samples"]][:]
            ],
            "chrom": np.array(
                [s.decode() if isinstance(s, bytes) else str(s) for s in f[need["chrom"]][:]]
            ),
            "pos": f[need["pos"]][:].astype(np.int64),
            "gt": gt,
        }
    if gt.ndim != 3 or gt.shape[2] != stored:
        raise InputFileError(
            path, f"calldata/GT has shape {gt.shape} but the ploidy attribute is {stored}"
        )
    if ploidy is not None and ploidy != stored:
        raise InputFileError(path, f"the store's ploidy is {stored}, not {ploidy}")
    out["ploidy"] = stored
    return out


def _vcf_ploidy(path: Path) -> int:
    import pysam

    try:
        with pysam.VariantFile(str(path)) as vf:
            for rec in vf:
                for call in rec.samples.values():
                    gt = call.get("GT")
                    if gt and any(a is not None for a in gt):
                        return len(gt)
    except (OSError, ValueError) as e:
        raise InputFileError(path, f"pysam cannot read it: {e}") from e
    raise InputFileError(path, "no called genotype to tell the ploidy from; pass ploidy=")


def _read_vcf(path: Path, ploidy: int | None) -> dict[str, Any]:
    headers = read_headers(path)
    p = check_ploidy(ploidy) if ploidy is not None else _vcf_ploidy(path)
    chunks = list(iter_genotype_chunks(path, ploidy=p, fields=[]))
    if not chunks:
        raise InputFileError(path, "the VCF has no variants")
    return {
        "samples": list(headers.samples),
        "chrom": np.concatenate([c["variants/CHROM"] for c in chunks]).astype(str),
        "pos": np.concatenate([c["variants/POS"] for c in chunks]).astype(np.int64),
        "gt": np.concatenate([c["calldata/GT"] for c in chunks]),
        "ploidy": p,
    }


def _save_png(fig: Any, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    with atomic_output(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def _figure(size: tuple[float, float] = (6, 4)) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def population_report(
    h5_or_vcf: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    ploidy: int | None = None,
    n_components: int = 10,
    max_pairs: int = 100_000,
    seed: int = 0,
) -> dict[str, Any]:
    """Allele frequencies, heterozygosity, PCA and LD decay of a genotype file.

    Writes ``popgen.json`` and four plots to ``out_dir``: ``afs.png``
    (alternate-allele frequency spectrum), ``heterozygosity.png`` (observed
    heterozygosity per sample), ``pca.png`` (PC1 against PC2) and
    ``ld_decay.png`` (mean r² by distance).

    Parameters
    ----------
    h5_or_vcf
        An HDF5 genotype store (:mod:`genomics.variables` layout) or a VCF.
    out_dir
        Folder for the outputs (created if missing).
    ploidy
        Checked against the store's; for a VCF, read from the first called
        genotype when None.
    n_components
        Principal components computed (fewer when the data are smaller).
    max_pairs, seed
        Marker pairs drawn for LD decay, and the seed of the draw.

    Returns
    -------
    dict
        What ``popgen.json`` holds: counts, summaries, per-sample values,
        PCA coordinates, LD decay and the plots' file names.

    Raises
    ------
    InputFileError
        If the file is missing, lacks a dataset, or its ploidy disagrees.

    References
    ----------
    Patterson N, Price AL, Reich D (2006). Population structure and
    eigenanalysis. PLoS Genetics 2:e190.

    Nei M (1973). Analysis of gene diversity in subdivided populations.
    PNAS 70:3321-3323.

    Examples
    --------
    >>> import tempfile
    >>> from breedhub.genomics.simulate import gene_drop
    >>> from breedhub.genomics.store import write_genotype_store
    >>> sim = gene_drop([f"s{i}" for i in range(12)], [None] * 12, [None] * 12,
    ...                 ploidy=4, n_markers=200, n_chromosomes=2, seed=1)
    >>> d = Path(tempfile.mkdtemp())
    >>> h5 = write_genotype_store(d / "g.h5", samples=sim.ids, chrom=sim.chrom,
    ...                           pos=sim.pos_bp, gt=sim.genotype_calls)
    >>> rep = population_report(h5, d / "popgen")
    >>> rep["ploidy"], rep["n_samples"], sorted(p.name for p in (d / "popgen").iterdir())
    (4, 12, ['afs.png', 'heterozygosity.png', 'ld_decay.png', 'pca.png', 'popgen.json'])
    """
    import h5py

    if not isinstance(h5_or_vcf, str | os.PathLike):
        raise TypeError(f"h5_or_vcf must be a path, not {type(h5_or_vcf).__name__}")
    if not isinstance(out_dir, str | os.PathLike):
        raise TypeError(f"out_dir must be a path, not {type(out_dir).__name__}")
    src, out = Path(h5_or_vcf), Path(out_dir)
    if ploidy is not None:
        ploidy = check_ploidy(ploidy)
    if not src.is_file():
        raise InputFileError(src, "no such file")
    data = _read_store(src, ploidy) if h5py.is_hdf5(src) else _read_vcf(src, ploidy)
    gt, p, samples = data["gt"], data["ploidy"], data["samples"]
    chrom, pos = data["chrom"], data["pos"]
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []

    af = allele_frequencies(gt)
    het = heterozygosity(gt)
    maf = np.minimum(af, 1 - af)
    afs_edges = np.linspace(0, 1, 21)
    afs_counts = np.histogram(af[~np.isnan(af)], bins=afs_edges)[0]

    d, _ = _as_dosage(gt, p)
    n_poly = int((np.nan_to_num(np.nanstd(d, axis=1), nan=0.0) > 0).sum()) if d.size else 0
    n_pc = min(n_components, len(samples), n_poly)
    pca_part: dict[str, Any] = {}
    res = None
    if n_pc >= 2:
        res = pca(gt, n_components=n_pc)
        pca_part = {
            "n_variants_used": int(res.variants_used.sum()),
            "explained_variance_ratio": res.explained_variance_ratio.tolist(),
            "coordinates": {s: res.coords[i].tolist() for i, s in enumerate(samples)},
        }
    else:
        notes.append("PCA not run: fewer than two samples or polymorphic variants.")
    ld = ld_decay(gt, contig=chrom, position=pos, max_pairs=max_pairs, seed=seed)

    plots = {
        "afs": "afs.png",
        "heterozygosity": "heterozygosity.png",
        "pca": "pca.png",
        "ld_decay": "ld_decay.png",
    }
    fig, ax = _figure()
    ax.bar(afs_edges[:-1], afs_counts, width=np.diff(afs_edges), align="edge", color="#4c72b0")
    ax.set_xlabel("alternate-allele frequency")
    ax.set_ylabel("variants")
    ax.set_title(f"Allele-frequency spectrum ({len(af)} variants, ploidy {p})")
    _save_png(fig, out / plots["afs"])

    fig, ax = _figure((max(6, len(samples) * 0.08), 4))
    ax.bar(np.arange(len(samples)), np.nan_to_num(het.sample_observed), color="#4c72b0")
    ax.axhline(np.nanmean(het.sample_observed), color="#c44e52", linestyle="--", label="mean")
    ax.set_xlabel("sample")
    ax.set_ylabel("observed heterozygosity")
    if len(samples) <= 40:
        ax.set_xticks(np.arange(len(samples)), samples, rotation=90, fontsize=7)
    ax.legend()
    ax.set_title("Observed heterozygosity per sample")
    _save_png(fig, out / plots["heterozygosity"])

    fig, ax = _figure((5, 5))
    if res is not None:
        ax.scatter(res.coords[:, 0], res.coords[:, 1], s=12, color="#4c72b0")
        evr = res.explained_variance_ratio
        ax.set_xlabel(f"PC1 ({100 * evr[0]:.1f}%)")
        ax.set_ylabel(f"PC2 ({100 * evr[1]:.1f}%)")
    else:
        ax.text(0.5, 0.5, "too few samples or variants", ha="center", transform=ax.transAxes)
    ax.set_title("Principal components (Patterson scaling)")
    _save_png(fig, out / plots["pca"])

    fig, ax = _figure()
    ax.plot(ld.bin_mid / 1e3, ld.mean_r2, marker="o", color="#4c72b0")
    ax.set_xlabel("distance (kb)")
    ax.set_ylabel("mean r²")
    ax.set_ylim(bottom=0)
    ax.set_title("LD decay")
    _save_png(fig, out / plots["ld_decay"])

    report = {
        "input": str(src),
        "ploidy": p,
        "n_variants": int(gt.shape[0]),
        "n_samples": len(samples),
        "allele_frequency": {
            "bins": afs_edges.tolist(),
            "counts": afs_counts.tolist(),
            "mean_maf": float(np.nanmean(maf)) if np.isfinite(maf).any() else None,
            "monomorphic": int(((af == 0) | (af == 1)).sum()),
        },
        "heterozygosity": {
            "mean_observed": float(np.nanmean(het.variant_observed)),
            "mean_expected": float(np.nanmean(het.variant_expected)),
            "sample_observed": dict(zip(samples, het.sample_observed.tolist(), strict=True)),
        },
        "pca": pca_part,
        "ld_decay": ld.to_dict(),
        "plots": plots,
        "notes": notes,
        "provenance": provenance(
            "breedhub.genomics.popgen.population_report",
            inputs=[src],
            parameters={
                "ploidy": p,
                "n_components": n_components,
                "max_pairs": max_pairs,
                "seed": seed,
            },
        ).to_dict(),
    }
    report = jsonable(report)
    write_json(report, out / "popgen.json")
    return report
