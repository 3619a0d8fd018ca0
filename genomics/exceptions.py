"""Exceptions of the genomics package, all rooted in :class:`BreedhubError`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from breedhub.base import errors as base_errors
from breedhub.base.errors import BreedhubError


class GenomicsError(BreedhubError):
    """Base class of genomics errors."""


class InputFileError(GenomicsError, base_errors.InputFileError):
    """A file that cannot be used as given: names the file, the record and the problem.

    Both a :class:`GenomicsError` and the shared
    :class:`breedhub.base.errors.InputFileError` (a ``ValueError``), with its
    constructor.

    Parameters
    ----------
    path
        The file.
    problem
        What is wrong, and where possible how to fix it.
    record
        Where in the file: "line 12", "record 3 (read r7/1)", "contig chr2"...

    Examples
    --------
    >>> str(InputFileError("reads_1.fq", "quality shorter than sequence", record="line 8"))
    'reads_1.fq: line 8: quality shorter than sequence'
    """


class ToolError(GenomicsError):
    """An external tool (bcftools, samtools, bwa, beagle...) failed or is missing."""


@contextlib.contextmanager
def as_genomics_error() -> Iterator[None]:
    """Re-raise the shared :class:`breedhub.base.errors.InputFileError` as genomics' own.

    The base helpers (``read_fai``, ``fasta_contigs``, ``open_text``) raise the
    shared class; a genomics stage promises :class:`InputFileError`.
    """
    try:
        yield
    except InputFileError:
        raise
    except base_errors.InputFileError as exc:
        raise InputFileError(exc.path, exc.problem, record=exc.record) from None
