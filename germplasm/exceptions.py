"""Exceptions of the germplasm package, all rooted in :class:`BreedhubError`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from breedhub.base.errors import BreedhubError, problem_list


class GermplasmError(BreedhubError):
    """Base class of germplasm errors."""


class RegistryError(GermplasmError):
    """The species or trait registry file is invalid."""


class UnknownSpeciesError(GermplasmError):
    """A species that the registry does not know."""

    http_status = 404


class NotFoundError(GermplasmError):
    """A record (accession, user, ...) that does not exist."""

    exit_code = 2
    http_status = 404


class DuplicateError(GermplasmError):
    """A record that would duplicate an existing one."""

    http_status = 409


class DatabaseSetupError(GermplasmError):
    """The database is missing, unreachable or not at the current schema."""

    http_status = 503


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    Attributes
    ----------
    row
        Data row, 1 for the first row under the header (0: the file as a whole).
    column
        The column at fault ("" when it concerns the whole row).
    value
        The offending value as read.
    reason
        What is wrong, and where possible how to fix it.
    """

    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        col = f", column {self.column}" if self.column else ""
        val = f" ({self.value!r})" if self.value != "" else ""
        return f"{where}{col}{val}: {self.reason}"


class ValidationError(GermplasmError):
    """An input file failed validation; nothing was written.

    Parameters
    ----------
    source
        The file (or a description of the input) that was validated.
    problems
        Every problem found, in row order.
    """

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = sorted(problems, key=lambda p: (p.row, p.column))
        super().__init__(self._message())

    def _message(self) -> str:
        n = len(self.problems)
        header = f"{self.source}: {n} problem{'s' if n != 1 else ''}, nothing was imported"
        return problem_list(header, self.problems)

    def details(self) -> list[dict[str, object]]:
        return [asdict(p) for p in self.problems]
