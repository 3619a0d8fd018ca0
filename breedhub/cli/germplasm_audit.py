"""``breedhub germplasm history``, ``imports`` and ``undo``: the import audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from breedhub.cli.common import emit_json, engine, json_option, user_errors


def _counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items() if v) or "-"


def _table(header: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@click.command()
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=10_000),
    default=20,
    show_default=True,
    help="How many imports, newest first.",
)
@json_option
@user_errors
def imports(limit: int, as_json: bool) -> None:
    """List the recorded imports, newest first: what, when, by whom, counts, undone or not."""
    from breedhub.germplasm.audit_history import list_imports
    from breedhub.germplasm.db import session_factory

    with session_factory(engine())() as session:
        found = list_imports(session, limit=limit)
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo("no imports recorded yet")
        return
    rows = []
    for r in found:
        state = f"undone by {r['undone_by']}" if r["undone_at"] else ""
        if r["kind"] == "undo":
            state = f"undoes {r['undoes_id']}"
        rows.append(
            (
                str(r["id"]),
                r["created_at"],
                r["kind"],
                r["source"],
                r["sha256"][:12],
                r["run_by"],
                _counts(r["counts"]),
                state,
            )
        )
    _table(("ID", "WHEN", "KIND", "SOURCE", "SHA256", "BY", "COUNTS", "UNDONE"), rows)


def _value(v: str | None) -> str:
    return "(empty)" if v is None else repr(v)


@click.command()
@click.argument("accession")
@json_option
@user_errors
def history(accession: str, as_json: bool) -> None:
    """Every import that touched ACCESSION, oldest first, with each field's old -> new value.

    ACCESSION is an id, a PUID, INSTCODE:ACCENUMB or ACCENUMB; an accession
    deleted by an undo is still found by its id or INSTCODE:ACCENUMB.
    """
    from breedhub.germplasm.audit_history import accession_history
    from breedhub.germplasm.db import session_factory

    with session_factory(engine())() as session:
        h = accession_history(session, accession)
    if as_json:
        emit_json(h)
        return
    acc = h["accession"]
    state = f"id {acc['id']}" if acc["id"] is not None else "deleted"
    click.secho(f"{acc['label']} ({state})", bold=True)
    for i in h["imports"]:
        what = f"undo of import {i['undoes_id']}" if i["kind"] == "undo" else i["kind"]
        undone = f", undone by import {i['undone_by']}" if i["undone_at"] else ""
        click.echo(
            f"import {i['id']}  {what}  {i['source']}  {i['created_at']}  by {i['run_by']}{undone}"
        )
        if i["created"]:
            click.echo(f"  created (accession id {i['accession_id']})")
        for c in i["changes"]:
            click.echo(f"  {c['field']}: {_value(c['old'])} -> {_value(c['new'])}")
        for d in i["detached"]:
            click.echo(f"  detached {d['count'] if d['count'] is not None else ''} {d['table']}")
        if i["deleted"]:
            click.echo(f"  deleted (accession id {i['accession_id']})")
    if not h["imports"]:
        click.echo("no recorded import touched it")


@click.command()
@click.argument("import_id", metavar="IMPORT_ID")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@json_option
@user_errors
def undo(import_id: str, dry_run: bool, as_json: bool) -> None:
    """Undo passport import IMPORT_ID: old values back, the accessions it created deleted.

    All or nothing, in one transaction; refused (with the reasons, nothing
    changed) when a later import changed the same fields, records were
    detached, or something now uses an accession it created. The undo is
    recorded as an import of its own (see `breedhub germplasm imports`).
    """
    from breedhub.germplasm.audit_history import parse_import_id, undo_import

    report = undo_import(engine(), parse_import_id(import_id), dry_run=dry_run)
    if as_json:
        emit_json(report.to_dict())
        return
    head = f"undo of import {report.import_id} ({report.source})"
    verb = "would" if report.dry_run else "did"
    click.echo(
        head + (": dry run, nothing changed" if report.dry_run else f": import {report.undo_id}")
    )
    click.echo(
        f"  {verb} restore {report.restored:,} values on {report.accessions_restored:,} "
        f"accessions and delete {report.deleted:,} accessions it created"
    )
    for f, n in sorted(report.fields.items()):
        click.echo(f"  {f}: {n:,}")
    for s in report.sample[:20]:
        if s["field"] is None:
            click.echo(f"  {s['accession']}: delete")
        else:
            click.echo(
                f"  {s['accession']}  {s['field']}: {_value(s['from'])} -> {_value(s['to'])}"
            )
    if report.restored + report.deleted > 20:
        click.echo("  ... (--json lists the first 100)")


#: The commands of this module, added to ``breedhub germplasm`` by :mod:`breedhub.cli.germplasm`.
AUDIT_COMMANDS: list[click.Command] = [imports, history, undo]
