"""Index helpers shared by the stages: a FASTA's ``.fai`` built and read, a bgzipped VCF's index path and stale indexes.

Atomic outputs and checked text input are :mod:`breedhub.base.files`; the
``.fai`` itself is read by :func:`breedhub.base.regions.read_fai`.
"""

from __future__ import annotations

import os
from pathlib import Path

from breedhub.base.regions import read_fai
from breedhub.genomics.exceptions import InputFileError, as_genomics_error


def fasta_index(fasta: str | os.PathLike[str]) -> dict[str, int]:
    """The contigs of a FASTA (name -> length, in order) from its ``.fai``, built when missing or stale.

    Tools that read the reference by region (bcftools, the aligner) need the
    index on disk, so it is made with pysam (samtools faidx) rather than only
    scanned.

    Raises
    ------
    InputFileError
        A missing file, a FASTA that cannot be indexed (gzip rather than
        bgzip, malformed), or one without sequences.
    """
    path = Path(fasta)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    fai = Path(f"{path}.fai")
    if not fai.exists() or fai.stat().st_mtime < path.stat().st_mtime:
        import pysam

        try:
            pysam.faidx(str(path))
        except pysam.SamtoolsError as e:
            raise InputFileError(
                path,
                f"cannot index the FASTA ({str(e).strip()}); it must be plain or bgzip-compressed",
            ) from None
    with as_genomics_error():
        contigs = read_fai(fai)
    if not contigs:
        raise InputFileError(path, "the FASTA holds no sequences")
    return contigs


def vcf_index_path(vcf: str | os.PathLike[str], csi: bool) -> str:
    """The index path beside a bgzipped VCF: ``.csi`` when ``csi``, else tabix's ``.tbi``."""
    return f"{vcf}.{'csi' if csi else 'tbi'}"


def remove_stale_index(vcf: str | os.PathLike[str], csi: bool) -> None:
    """Delete the other kind of index beside ``vcf``, left by an earlier run, that would shadow it."""
    Path(vcf_index_path(vcf, not csi)).unlink(missing_ok=True)


def check_vcf_gz(out: Path) -> None:
    """Raise ValueError unless ``out``'s name ends in ``.vcf.gz``."""
    if not out.name.endswith(".vcf.gz"):
        raise ValueError(f"out_vcf must end in .vcf.gz (bgzipped VCF), not {out.name!r}")
