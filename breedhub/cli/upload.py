"""``breedhub upload DIR --sheet SHEET``: send an institute's batch of sequence files to a server."""

from __future__ import annotations

import click

from breedhub.cli.common import emit_json, json_option, user_errors


@click.command("upload")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--sheet", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The sample sheet (CSV, TSV or XLSX): one row per file.")  # fmt: skip
@click.option("--server", required=True, envvar="BREEDHUB_SERVER",
              help="The server's address, e.g. https://breedhub.example.org ($BREEDHUB_SERVER).")  # fmt: skip
@click.option("--token", required=True, envvar="BREEDHUB_TOKEN",
              help="An uploader's API token ($BREEDHUB_TOKEN).")  # fmt: skip
@click.option("--parallel", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Files sent at once.")  # fmt: skip
@click.option("--call-variants", is_flag=True,
              help="Start the variants workflow once the batch is registered.")  # fmt: skip
@click.option("--name", default="", help="The batch's name (default: the sheet's).")
@click.option("--chunk-mb", default=32, show_default=True, type=click.IntRange(1, 4096),
              help="MiB sent per request, each with its sha256.")  # fmt: skip
@json_option
@user_errors
def upload(
    directory: str,
    sheet: str,
    server: str,
    token: str,
    parallel: int,
    call_variants: bool,
    name: str,
    chunk_mb: int,
    as_json: bool,
) -> None:
    """Check SHEET against the files in DIRECTORY, create the batch, upload the files.

    Files go up several at a time over tus (resumable): run the same command
    again after an interruption and it resumes where it stopped
    (DIRECTORY/.breedhub-upload.json remembers the batch and each upload).
    """
    from breedhub.upload_client import upload_batch

    report = upload_batch(
        directory,
        sheet,
        server=server,
        token=token,
        parallel=parallel,
        call_variants=call_variants,
        name=name,
        chunk_size=chunk_mb << 20,
        show_progress=not as_json,
    )
    if as_json:
        emit_json(report)
        return
    batch = report["batch"]
    click.echo(f"batch {batch.get('id')} ({batch.get('name', '')}): {batch.get('state')}")
    for problem in batch.get("problems") or []:
        click.echo(f"  row {problem.get('row') or '-'}: {problem.get('message')}")
    n = len(report["files"])
    click.echo(f"{n} file{'s' if n != 1 else ''} uploaded and verified")
