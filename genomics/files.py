"""File helpers shared by every stage: atomic outputs and checked text input."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from breedhub.genomics.exceptions import InputFileError

GZIP_MAGIC = b"\x1f\x8b"


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left as it
    was, so no stage ever leaves a half-written output. The temporary name
    keeps the suffixes of ``path`` so tools that look at them (``.bam``,
    ``.vcf.gz``) still see them.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> with atomic_output(d / "x.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "x.txt").read_text(), sorted(p.name for p in d.iterdir())
    ('done', ['x.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".part-{os.getpid()}-{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


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


def is_gzip(path: str | os.PathLike[str]) -> bool:
    """Whether the file starts with the gzip magic bytes (BGZF included)."""
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_text(path: str | os.PathLike[str]) -> IO[str]:
    """Open a plain or gzip-compressed text file for reading.

    Raises
    ------
    InputFileError
        If the name ends in ``.gz`` but the content is not gzip, or the file
        is missing.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "no such file")
    gz = is_gzip(p)
    if p.suffix == ".gz" and not gz:
        raise InputFileError(p, "the name ends in .gz but the file is not gzip-compressed")
    if gz:
        return io.TextIOWrapper(gzip.open(p, "rb"), encoding="ascii", errors="strict")
    return open(p, encoding="ascii", errors="strict")
