"""``breedhub germplasm import brapi URL``: import from another BrAPI v2 server.

The command is attached to the ``import`` group of :mod:`breedhub.cli.germplasm`
(``import_.add_command(brapi)`` in :mod:`breedhub.cli.germplasm_import`).
"""

from __future__ import annotations

import click

from breedhub.cli.common import emit_json, engine, json_option, user_errors


@click.command(name="brapi")
@click.argument("url")
@click.option("--token", help="Bearer token for the server (Authorization: Bearer ...).")
@click.option("--program", help="Only this program's trials and studies (programDbId or name).")
@click.option("--dry-run", is_flag=True, help="Fetch and validate everything; write nothing.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=3600),
    default=30.0,
    show_default=True,
    help="Seconds to wait for each answer of the server.",
)
@click.option(
    "--page-size",
    type=click.IntRange(min=1, max=10_000),
    default=1000,
    show_default=True,
    help="Objects asked for per page.",
)
@json_option
@user_errors
def brapi(
    url: str,
    token: str | None,
    program: str | None,
    dry_run: bool,
    timeout: float,
    page_size: int,
    as_json: bool,
) -> None:
    """Import germplasm (MCPD, pedigrees), trials, studies and observations from a BrAPI server.

    URL is the server's BrAPI v2 base, e.g. https://host/brapi/v2. Everything
    is validated as the file imports are, then written in one transaction:
    all of it, or nothing.
    """
    from breedhub.cli.germplasm_import import _progress
    from breedhub.germplasm.brapi_import import import_brapi

    report = import_brapi(
        engine(),
        url,
        token=token,
        program=program,
        dry_run=dry_run,
        timeout=timeout,
        page_size=page_size,
        progress=_progress(as_json),
    )
    if as_json:
        emit_json(report.to_dict())
        return
    for w in report.warnings:
        click.secho(f"warning: {w}", fg="yellow", err=True)
    click.echo(str(report))
