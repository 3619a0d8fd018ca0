"""VCF index helpers shared by the stages that write bgzipped VCFs: the index's path, stale indexes, the name check.

Atomic outputs and checked text input are :mod:`breedhub.base.files`.
"""

from __future__ import annotations

import os
from pathlib import Path

# Kept importable here for pipelines.steps until it imports breedhub.base.files itself.
from breedhub.base.files import atomic_output as atomic_output


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
