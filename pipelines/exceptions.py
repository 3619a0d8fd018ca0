"""Exceptions of the pipelines package, all rooted in :class:`BreedhubError`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from breedhub.base.errors import BreedhubError, problem_list


class PipelineError(BreedhubError):
    """Base class of pipeline errors."""


@dataclass(frozen=True)
class Problem:
    """One problem of a workflow's input: the config file or a row of its sample sheet.

    Attributes
    ----------
    file
        The config file or sample sheet at fault.
    row
        Data row of a sample sheet, 1 for the first row under the header; 0
        for the config file or the sheet as a whole.
    column
        The sheet's column, or the config key (``filter.min_maf``,
        ``regions[2]``); "" when it concerns the whole row or file.
    value
        The offending value as read ("" when there is none).
    reason
        What is wrong, and where possible how to fix it.
    """

    file: str
    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}, row {self.row}" if self.row else self.file
        col = f", column {self.column}" if self.column and self.row else ""
        key = f", {self.column}" if self.column and not self.row else ""
        val = f" ({self.value!r})" if self.value != "" else ""
        return f"{where}{col}{key}{val}: {self.reason}"


class ConfigError(PipelineError):
    """A workflow config or sample sheet failed validation; nothing was run.

    Parameters
    ----------
    problems
        Every problem found, in file and row order.

    Examples
    --------
    >>> err = ConfigError([Problem("samples.tsv", 2, "fastq1", "a.fq", "no such file")])
    >>> print(err)
    1 problem, nothing was run:
      samples.tsv, row 2, column fastq1 ('a.fq'): no such file
    """

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.row, p.column))
        super().__init__(self._message())

    def _message(self) -> str:
        n = len(self.problems)
        return problem_list(
            f"{n} problem{'s' if n != 1 else ''}, nothing was run:", self.problems, limit=100
        )

    def details(self) -> list[dict[str, object]]:
        return [asdict(p) for p in self.problems]


class WorkflowBusyError(PipelineError):
    """Another run of the same workflow is still going in that working directory."""

    http_status = 409
