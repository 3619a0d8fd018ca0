"""``breedhub germplasm import``: passport, pedigree and observation files, and BrAPI servers."""

from __future__ import annotations

import click

from breedhub.cli.common import emit_json, engine, json_option, user_errors


@click.group(name="import")
def import_() -> None:
    """Import a passport, pedigree or observation file (CSV, TSV or XLSX), or a BrAPI server."""


def _report(report, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        emit_json(report.to_dict())
        return
    for w in report.warnings:
        click.secho(f"warning: {w}", fg="yellow", err=True)
    click.echo(str(report))


def _progress(as_json: bool):  # type: ignore[no-untyped-def]
    """Stage lines with elapsed time on stderr, so a long import shows where it is."""
    import time

    from breedhub.germplasm.reports import silent

    if as_json:
        return silent
    start = time.perf_counter()
    return lambda msg: click.echo(f"[{time.perf_counter() - start:6.1f}s] {msg}", err=True)


_dry = click.option("--dry-run", is_flag=True, help="Validate only; write nothing.")
_file = click.argument("file", type=click.Path(dir_okay=False))


@import_.command()
@_file
@click.option("--species", help="Require every row to be of this species (registry key).")
@_dry
@json_option
@user_errors
def passport(file: str, species: str | None, dry_run: bool, as_json: bool) -> None:
    """Import an MCPD v2.1 passport file."""
    from breedhub.germplasm.passport import import_passport

    report = import_passport(
        engine(), file, species=species, dry_run=dry_run, progress=_progress(as_json)
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

    _report(import_pedigree(engine(), file, dry_run=dry_run), as_json)


@import_.command()
@_file
@_dry
@json_option
@user_errors
def observations(file: str, dry_run: bool, as_json: bool) -> None:
    """Import phenotype observations (long or wide layout)."""
    from breedhub.germplasm.phenotypes import import_observations

    _report(
        import_observations(engine(), file, dry_run=dry_run, progress=_progress(as_json)), as_json
    )


from breedhub.cli.germplasm_brapi import brapi  # noqa: E402

import_.add_command(brapi)
