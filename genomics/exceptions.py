"""Exceptions of the genomics package, all rooted in :class:`BreedhubError`."""

from __future__ import annotations

from breedhub.base.errors import BreedhubError


class GenomicsError(BreedhubError):
    """Base class of genomics errors."""


class InputFileError(GenomicsError, ValueError):
    """A file that cannot be used as given: names the file, the record and the problem.

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

    def __init__(self, path: object, problem: str, *, record: str | None = None):
        self.path = str(path)
        self.problem = problem
        self.record = record
        where = f"{self.path}: {record}: " if record else f"{self.path}: "
        super().__init__(where + problem)

    def details(self) -> list[dict[str, object]]:
        return [{"file": self.path, "record": self.record, "problem": self.problem}]


class ToolError(GenomicsError):
    """An external tool (bcftools, samtools, bwa, beagle...) failed or is missing."""
