"""Exceptions of the genomics package, all rooted in :class:`BreedhubError`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from breedhub.base import errors as base_errors
from breedhub.base.errors import BreedhubError


class GenomicsError(BreedhubError):
    """Base class of genomics errors."""


class InputFileError(GenomicsError, base_errors.InputFileError):
    """:class:`breedhub.base.errors.InputFileError` (file, record, problem) raised by genomics.

    Also a :class:`GenomicsError`, so callers can catch everything genomics raises.

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
