"""Files, written whole or not at all, and read whether plain, gzip or BGZF.

:func:`atomic_output` is how every output of breedhub is written (a temporary
name beside the target, renamed on success); :func:`open_text` reads text that
may be gzip-compressed, checking that a ``.gz`` name tells the truth.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from breedhub.base.errors import InputFileError

GZIP_MAGIC = b"\x1f\x8b"


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left as it
    was, so nothing is ever half-written. The temporary name keeps the
    suffixes of ``path`` so tools that look at them (``.bam``, ``.vcf.gz``)
    still see them.

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


def is_gzip(path: str | os.PathLike[str]) -> bool:
    """Whether the file starts with the gzip magic bytes (BGZF included)."""
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def is_bgzf(path: str | os.PathLike[str]) -> bool:
    """Whether the file is BGZF (blocked gzip, as bgzip and htslib write), not plain gzip.

    BGZF's first block carries the ``BC`` extra subfield; ``gzip`` writes none.
    """
    with open(path, "rb") as fh:
        head = fh.read(18)
    return (
        len(head) >= 18
        and head[:2] == GZIP_MAGIC
        and bool(head[3] & 4)  # FEXTRA
        and head[12:14] == b"BC"
    )


def open_text(path: str | os.PathLike[str], *, encoding: str = "ascii") -> IO[str]:
    """Open a plain or gzip-compressed (BGZF too) text file for reading.

    Raises
    ------
    InputFileError
        If the file is missing, or the name ends in ``.gz`` but the content is
        not gzip.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "no such file")
    gz = is_gzip(p)
    if p.suffix == ".gz" and not gz:
        raise InputFileError(p, "the name ends in .gz but the file is not gzip-compressed")
    if gz:
        return io.TextIOWrapper(gzip.open(p, "rb"), encoding=encoding, errors="strict")
    return open(p, encoding=encoding, errors="strict")
