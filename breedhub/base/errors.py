"""The root of every exception breedhub raises on purpose.

Each package has its own exception module (``germplasm/exceptions.py`` ...)
whose classes derive from :class:`BreedhubError`; the command line and the web
layer turn any ``BreedhubError`` into a clear message (or a JSON error) and
never show a traceback for bad input.
"""

from __future__ import annotations

from collections.abc import Sequence


class BreedhubError(Exception):
    """Base class of all breedhub errors meant for the user.

    Subclasses set :attr:`exit_code` (for the command line) and
    :attr:`http_status` (for the web layer).
    """

    exit_code: int = 1
    http_status: int = 400

    def details(self) -> list[dict[str, object]]:
        """Structured details (e.g. one entry per bad row) for JSON output."""
        return []


def problem_list(header: str, problems: Sequence[object], *, limit: int = 50) -> str:
    """A message: ``header``, then one indented line per problem, cut at ``limit``.

    Examples
    --------
    >>> print(problem_list("a.csv: 3 problems", ["x", "y", "z"], limit=2))
    a.csv: 3 problems
      x
      y
      ... and 1 more (use --json to see them all)
    """
    lines = [header, *(f"  {p}" for p in problems[:limit])]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more (use --json to see them all)")
    return "\n".join(lines)


class ArgumentError(BreedhubError, ValueError):
    """An argument with a bad value; a ``ValueError`` too, as Python callers expect."""


class ArgumentTypeError(BreedhubError, TypeError):
    """An argument of the wrong kind; a ``TypeError`` too, as Python callers expect."""


class InputFileError(BreedhubError, ValueError):
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
