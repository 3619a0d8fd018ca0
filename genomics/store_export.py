"""Exporting a genotype store, streamed: bgzipped VCF (:func:`store_to_vcf`) and PLINK 1 (:func:`store_to_plink`)."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from breedhub.base.files import atomic_output
from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.files import remove_stale_index, vcf_index_path
from breedhub.genomics.store_layout import (
    _DOT,
    _FIXED_COLUMNS,
    _NL,
    _SLASH,
    _TAB,
    ALT,
    CHROM,
    DOSAGE,
    GT,
    ID,
    POS,
    QUAL,
    REF,
    SAMPLES,
    _dosage,
)
from breedhub.genomics.store_read import _contig_ranges, open_store, store_text

#: zlib level of exported VCFs. On an 83 MB VCF of 200 x 100,000 diploid SNPs: level 1
#: took 0.9 s (12.4 MB), 4 took 1.8 s (9.1 MB), bgzip's default 6 took 7.6 s (8.1 MB).
_BGZF_LEVEL = 4


# ---------------------------------------------------------------------------
# Store -> VCF, PLINK


def _chunks_of(f: h5py.File) -> Iterator[tuple[int, int]]:
    n = f[POS].shape[0]
    step = f[GT].chunks[0] if f[GT].chunks else 16_384
    for i in range(0, n, step):
        yield i, min(i + step, n)


def _format_gt(gt: np.ndarray) -> list[bytes]:
    """Each row's sample columns, tab-separated with a final newline."""
    m, n, p = gt.shape
    if m == 0:
        return []
    if gt.max(initial=-1) <= 9:
        text = np.empty((m, n, 2 * p), dtype=np.uint8)
        text[:, :, 0::2] = np.where(gt < 0, _DOT, gt + 48)
        text[:, :, 1 : 2 * p - 1 : 2] = _SLASH
        text[:, :, -1] = _TAB
        text[:, -1, -1] = _NL
        return [row.tobytes() for row in text]
    return [
        (
            "\t".join("/".join("." if a < 0 else str(a) for a in call) for call in row) + "\n"
        ).encode()
        for row in gt.tolist()
    ]


def store_to_vcf(h5: str | os.PathLike[str], out_vcf: str | os.PathLike[str]) -> Path:
    """Write a store as a bgzipped, indexed VCF of its genotypes; return its path.

    Streamed chunk by chunk. The header has ``##contig`` lines (with the
    lengths recorded at import), the reference and the samples; records carry
    GT at the store's ploidy (unphased; ``.`` for missing alleles), QUAL,
    and ``.`` for FILTER and INFO. The index is ``.tbi``, or ``.csi`` when a
    position exceeds the 2^29 - 1 that tabix indexes hold.

    Parameters
    ----------
    h5
        The store.
    out_vcf
        The VCF to write; its name must end in ``.vcf.gz``.

    Returns
    -------
    Path
        ``out_vcf``.

    Raises
    ------
    InputFileError
        If the file is missing or is not a genotype store.
    ValueError
        If ``out_vcf`` does not end in ``.vcf.gz``.

    References
    ----------
    .. [1] H. Li (2011). Tabix: fast retrieval of sequence features from generic
       TAB-delimited files. Bioinformatics 27(5), 718-719.
    .. [2] The CSI index format, https://samtools.github.io/hts-specs/CSIv1.pdf

    Examples
    --------
    >>> import tempfile, pysam
    >>> from breedhub.genomics.store_write import write_genotype_store
    >>> d = Path(tempfile.mkdtemp())
    >>> p = write_genotype_store(d / "g.h5", samples=["a", "b"], chrom=np.array(["1", "1"]),
    ...     pos=np.array([5, 9]), gt=np.array([[[0, 0, 1, 1], [1, 1, 1, 1]], [[0] * 4, [-1] * 4]]))
    >>> out = store_to_vcf(p, d / "g.vcf.gz")
    >>> [r.samples["a"]["GT"] for r in pysam.VariantFile(str(out))]
    [(0, 0, 1, 1), (0, 0, 0, 0)]
    """
    from breedhub.base.version import __version__

    out_vcf = Path(out_vcf)
    if not out_vcf.name.endswith(".vcf.gz"):
        raise ValueError(f"out_vcf must end in .vcf.gz (it is bgzipped), not {out_vcf.name!r}")
    import pysam

    with open_store(h5) as f:
        samples = list(store_text(f[SAMPLES][:]))
        contigs = _contig_ranges(f)
        reference = str(f.attrs.get("reference", ""))
        head = ["##fileformat=VCFv4.3", f"##source=breedhub {__version__}"]
        if reference:
            head.append(f"##reference={reference}")
        longest = 0
        for name, entry in contigs.items():
            length = entry.get("length")
            head.append(f"##contig=<ID={name}" + (f",length={length}>" if length else ">"))
            longest = max(longest, length or 0)
        head.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
        head.append("\t".join([*_FIXED_COLUMNS, "FORMAT", *samples]))
        csi = longest >= 2**29
        with contextlib.ExitStack() as stack:
            tmp = stack.enter_context(atomic_output(out_vcf))
            # pysam's stub lacks the level digit htslib takes in the mode, and index=None
            with pysam.BGZFile(str(tmp), f"wb{_BGZF_LEVEL}") as out:  # type: ignore[call-arg]
                out.write(("\n".join(head) + "\n").encode())
                for i, j in _chunks_of(f):
                    chrom, pos = store_text(f[CHROM][i:j]), f[POS][i:j]
                    csi = csi or int(pos.max(initial=0)) >= 2**29
                    ids = store_text(f[ID][i:j]) if ID in f else np.full(j - i, ".", dtype=object)
                    refs = (
                        store_text(f[REF][i:j]) if REF in f else np.full(j - i, "N", dtype=object)
                    )
                    alts = (
                        store_text(f[ALT][i:j])
                        if ALT in f
                        else np.full((j - i, 1), "", dtype=object)
                    )
                    if alts.ndim == 1:
                        alts = alts[:, None]
                    qual = f[QUAL][i:j] if QUAL in f else np.full(j - i, np.nan)
                    calls = _format_gt(f[GT][i:j])
                    rows = []
                    for k in range(j - i):
                        alt = ",".join(a for a in alts[k] if a) or "."
                        q = (
                            "."
                            if np.isnan(qual[k]) or qual[k] < 0
                            else format(float(qual[k]), ".7g")
                        )
                        fixed = f"{chrom[k]}\t{pos[k]}\t{ids[k] or '.'}\t{refs[k]}\t{alt}\t{q}\t.\t.\tGT\t"
                        rows.append(fixed.encode())
                        rows.append(calls[k])
                    out.write(b"".join(rows))
            index = Path(vcf_index_path(out_vcf, csi))
            tmp_index = stack.enter_context(atomic_output(index))
            pysam.tabix_index(str(tmp), preset="vcf", force=True, index=str(tmp_index), csi=csi)
        remove_stale_index(out_vcf, csi)
    return out_vcf


# PLINK 1 two-bit codes (read low bits first): 00 hom A1, 01 missing, 10 het, 11 hom A2.
# A1 is the ALT allele, so the count of A1 is the dosage.
_BED_CODE = {2: np.array([1, 3, 2, 0], np.uint8), 1: np.array([1, 3, 0], np.uint8)}  # by dosage + 1


def store_to_plink(h5: str | os.PathLike[str], out_prefix: str | os.PathLike[str]) -> Path:
    """Write a store as PLINK 1 ``.bed``/``.bim``/``.fam`` (SNP-major); return the ``.bed``.

    Streamed chunk by chunk. A1 (the counted allele) is ALT and A2 is REF, so
    PLINK's A1 count is the store's dosage; haploid calls are written as
    homozygous, as PLINK 1 does for haploid chromosomes. The ``.fam`` has
    FID = IID = the sample name, unknown parents, sex and phenotype.

    Parameters
    ----------
    h5
        The store: ploidy 1 or 2, biallelic variants only.
    out_prefix
        Path without extension (a trailing ``.bed`` is dropped).

    Returns
    -------
    Path
        The ``.bed`` file.

    Raises
    ------
    InputFileError
        If the store's ploidy is above 2 (PLINK 1 holds two alleles per
        call), a variant has more than one ALT allele, or a sample or marker
        name contains whitespace.

    References
    ----------
    .. [1] PLINK 1 binary formats (.bed, .bim, .fam),
       https://www.cog-genomics.org/plink/1.9/formats#bed
    .. [2] C. C. Chang et al. (2015). Second-generation PLINK: rising to the
       challenge of larger and richer datasets. GigaScience 4, 7.

    Examples
    --------
    >>> import tempfile
    >>> from breedhub.genomics.store_write import write_genotype_store
    >>> d = Path(tempfile.mkdtemp())
    >>> p = write_genotype_store(d / "g.h5", samples=["a", "b"], chrom=np.array(["1", "1"]),
    ...     pos=np.array([5, 9]), gt=np.array([[[0, 1], [1, 1]], [[0, 0], [-1, -1]]]))
    >>> bed = store_to_plink(p, d / "g")
    >>> bed.name, bed.read_bytes().hex()
    ('g.bed', '6c1b010207')
    """
    prefix = Path(out_prefix)
    if prefix.suffix == ".bed":
        prefix = prefix.with_suffix("")
    with open_store(h5) as f:
        path = Path(h5)
        ploidy = int(f.attrs.get("ploidy", f[GT].shape[2]))
        if ploidy > 2:
            raise InputFileError(
                path,
                f"ploidy {ploidy}: PLINK 1 .bed holds two alleles per call and cannot hold "
                f"dosages 0-{ploidy}; export a VCF (store_to_vcf) or read the store itself "
                "(read_dosages)",
            )
        samples = list(store_text(f[SAMPLES][:]))
        spaced = [s for s in samples if re.search(r"\s", s)]
        if spaced:
            raise InputFileError(
                path,
                f"PLINK names cannot contain whitespace: samples {', '.join(map(repr, spaced[:10]))}",
            )
        if ALT in f and f[ALT].ndim == 2 and f[ALT].shape[1] > 1:  # check before writing
            first, count = None, 0
            for i, j in _chunks_of(f):
                multi = np.flatnonzero(store_text(f[ALT][i:j, 1]) != "")
                if multi.size and first is None:
                    first = i + int(multi[0])
                count += multi.size
            if first is not None:
                raise InputFileError(
                    path,
                    f"{count} variants have more than one ALT allele, which PLINK 1 cannot "
                    "hold: split them (bcftools norm -m-) before making the store, or "
                    "export a VCF",
                    record=f"variant {first + 1} ({store_text(f[CHROM][first : first + 1])[0]}"
                    f":{f[POS][first]})",
                )
        code = _BED_CODE[ploidy]
        n = len(samples)
        pad = (-n) % 4
        with contextlib.ExitStack() as stack:
            tmp_bed = stack.enter_context(atomic_output(prefix.with_name(prefix.name + ".bed")))
            tmp_bim = stack.enter_context(atomic_output(prefix.with_name(prefix.name + ".bim")))
            tmp_fam = stack.enter_context(atomic_output(prefix.with_name(prefix.name + ".fam")))
            with open(tmp_bed, "wb") as bed, open(tmp_bim, "w") as bim:
                bed.write(bytes([0x6C, 0x1B, 0x01]))
                for i, j in _chunks_of(f):
                    D = f[DOSAGE][i:j] if DOSAGE in f else _dosage(f[GT][i:j])
                    c = code[D.astype(np.int16) + 1]
                    c = np.pad(c, ((0, 0), (0, pad))).reshape(j - i, -1, 4)
                    packed = c[:, :, 0] | c[:, :, 1] << 2 | c[:, :, 2] << 4 | c[:, :, 3] << 6
                    bed.write(packed.astype(np.uint8).tobytes())
                    chrom, pos = store_text(f[CHROM][i:j]), f[POS][i:j].tolist()
                    ids = store_text(f[ID][i:j]) if ID in f else np.full(j - i, "", dtype=object)
                    refs = (
                        store_text(f[REF][i:j]) if REF in f else np.full(j - i, "0", dtype=object)
                    )
                    alts = (
                        store_text(f[ALT][i:j])
                        if ALT in f
                        else np.full((j - i, 1), "", dtype=object)
                    )
                    alts = alts.reshape(j - i, -1)
                    lines = []
                    for k in range(j - i):
                        name = ids[k] if ids[k] not in ("", ".") else f"{chrom[k]}:{pos[k]}"
                        if re.search(r"\s", name):
                            raise InputFileError(
                                path, f"PLINK names cannot contain whitespace: marker {name!r}"
                            )
                        a1 = alts[k, 0] or "0"
                        lines.append(f"{chrom[k]}\t{name}\t0\t{pos[k]}\t{a1}\t{refs[k] or '0'}\n")
                    bim.write("".join(lines))
            tmp_fam.write_text("".join(f"{s} {s} 0 0 0 -9\n" for s in samples))
    return prefix.with_name(prefix.name + ".bed")
