"""``breedhub germplasm import``: passport, pedigree and observation files, and BrAPI servers."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from breedhub.cli.common import emit_json, engine, json_option, user_errors

#: Rows of a dry run listed on the terminal; ``--json`` gives all of them.
DRY_RUN_LINES = 50


@click.group(name="import")
def import_() -> None:
    """Import a passport, pedigree or observation file (CSV, TSV or XLSX), or a BrAPI server."""


def _show_value(value: str | None) -> str:
    return "(empty)" if value in (None, "") else repr(value)


def _detail_line(entry: dict[str, Any]) -> str:
    """One dry-run row: ``row 3 CHN001:R0003 changed: ACCENAME 'a' -> 'b'; REMARKS ...``."""
    head = f"row {entry['row']} {entry['instcode']}:{entry['accenumb']} {entry['status']}"
    if entry["status"] == "changed":
        parts = [
            f"{c['field']} {_show_value(c['old'])} -> {_show_value(c['new'])}"
            for c in entry.get("changes", [])
        ]
        return f"{head}: {'; '.join(parts)}"
    if entry["status"] == "refused":
        return f"{head}: {entry.get('reason', '')}"
    return head


def _report(report: Any, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_dict())
        return
    for w in report.warnings:
        click.secho(f"warning: {w}", fg="yellow", err=True)
    detail = getattr(report, "rows_detail", None) or []
    for entry in detail[:DRY_RUN_LINES]:
        click.echo(_detail_line(entry))
    if len(detail) > DRY_RUN_LINES:
        click.echo(f"... and {len(detail) - DRY_RUN_LINES:,} more (--json lists every row)")
    click.echo(str(report))
    if getattr(report, "import_id", None) is not None:
        click.echo(
            f"recorded as import {report.import_id}: `breedhub germplasm history ACCESSION` "
            f"shows what it changed, `breedhub germplasm undo {report.import_id}` reverts it"
        )


def _progress(as_json: bool) -> Callable[[str], None]:
    """Stage lines with elapsed time on stderr (nothing in ``--json`` mode)."""
    if as_json:
        return lambda msg: None
    start = time.perf_counter()
    return lambda msg: click.echo(f"[{time.perf_counter() - start:6.1f}s] {msg}", err=True)


@contextmanager
def _live_progress(as_json: bool) -> Iterator[Callable[[str], None]]:
    """Stage lines for the importer, on stderr only (never in ``--json`` output).

    On a terminal a rich status line shows the current stage and the elapsed
    time; otherwise (a pipe, a log file) each stage is one plain line.
    """
    if as_json:
        yield lambda msg: None
        return
    start = time.perf_counter()
    if sys.stderr.isatty():
        from rich.console import Console

        console = Console(stderr=True)
        with console.status("starting") as status:

            def show(msg: str) -> None:
                line = f"[{time.perf_counter() - start:6.1f}s] {msg}"
                console.print(line, style="dim", highlight=False)
                status.update(line)

            yield show
        return
    yield _progress(as_json)


def _timed(run: Callable[[], Any]) -> Any:
    """Run an importer; give its report the wall time when it did not time itself."""
    start = time.perf_counter()
    report = run()
    if hasattr(report, "seconds") and not report.seconds:
        report.seconds = round(time.perf_counter() - start, 3)
    return report


_dry = click.option("--dry-run", is_flag=True, help="Validate only; write nothing.")
_file = click.argument("file", type=click.Path(dir_okay=False))


@import_.command()
@_file
@click.option("--species", help="Require every row to be of this species (registry key).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate and compare with the database, write nothing: list every row that would "
    "be new, changed (field: old -> new) or refused, and the counts.",
)
@click.option(
    "--blank-clears",
    is_flag=True,
    help="An empty cell clears the stored value. Without it an empty cell keeps the value, "
    "and columns the file does not have are never touched.",
)
@click.option(
    "--allow-species-change",
    is_flag=True,
    help="Accept rows that give an accession another species (GENUS/SPECIES). Its "
    "phenotypes (observation units, observations), samples (with their genotype-dataset "
    "membership) and predictions are DELETED, and counted in the report. Without it such "
    "a file is refused.",
)
@click.option(
    "--allow-institute-change",
    is_flag=True,
    help="Accept rows that move an accession (same PUID) to another holding institute "
    "(INSTCODE, and its number there). Its phenotypes, samples and predictions are DELETED, "
    "and counted. Without it such a file is refused.",
)
@json_option
@user_errors
def passport(
    file: str,
    species: str | None,
    dry_run: bool,
    blank_clears: bool,
    allow_species_change: bool,
    allow_institute_change: bool,
    as_json: bool,
) -> None:
    """Import an MCPD v2.1 passport file.

    (INSTCODE, ACCENUMB) names an accession: new ones are added, stored ones
    updated, but only in the columns the file has. The whole file is checked
    first; any problem (or refused row) and nothing is written. Every import
    is recorded: `breedhub germplasm history` and `undo` read the record.
    """
    from breedhub.germplasm.passport import import_passport

    with _live_progress(as_json) as progress:
        report = import_passport(
            engine(),
            file,
            species=species,
            dry_run=dry_run,
            blank_clears=blank_clears,
            allow_species_change=allow_species_change,
            allow_institute_change=allow_institute_change,
            progress=progress,
        )
    _report(report, as_json)


@import_.command()
@_file
@_dry
@json_option
@user_errors
def pedigree(file: str, dry_run: bool, as_json: bool) -> None:
    """Import parents, cross types and generations."""
    from breedhub.germplasm.pedigree import import_pedigree

    _report(_timed(lambda: import_pedigree(engine(), file, dry_run=dry_run)), as_json)


@import_.command()
@_file
@_dry
@json_option
@user_errors
def observations(file: str, dry_run: bool, as_json: bool) -> None:
    """Import phenotype observations (long or wide layout)."""
    from breedhub.germplasm.phenotypes import import_observations

    with _live_progress(as_json) as progress:
        report = _timed(
            lambda: import_observations(engine(), file, dry_run=dry_run, progress=progress)
        )
    _report(report, as_json)


from breedhub.cli.germplasm_brapi import brapi  # noqa: E402

import_.add_command(brapi)
