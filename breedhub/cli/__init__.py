"""The ``breedhub`` command line.

``breedhub init | demo | serve`` and one group per package
(``breedhub germplasm ...``, ``breedhub user ...``). Bad input prints a clear
message and exits non-zero; ``--json`` prints what a script wants.
"""

from __future__ import annotations

import click

from breedhub.base.version import __version__
from breedhub.cli.common import emit_json, json_option, settings, user_errors


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    help="Data directory (default: $BREEDHUB_HOME or ./breedhub-data).",
)
@click.version_option(__version__, prog_name="breedhub")
@click.pass_context
def main(ctx: click.Context, home: str | None) -> None:
    """breedhub: germplasm, genotypes and genomic prediction for breeding programmes."""
    ctx.obj = {"home": home}


@main.command()
@json_option
@user_errors
def init(as_json: bool) -> None:
    """Create or upgrade the database and load the species and trait registries."""
    from breedhub.cli.common import engine
    from breedhub.germplasm import default_registry, init_database, load_traits

    s = settings()
    s.ensure_dirs()
    registry = default_registry()
    extra = [s.home / "traits.yaml"] if (s.home / "traits.yaml").exists() else []
    report = init_database(engine(check=False), registry, load_traits(registry, *extra))
    if as_json:
        emit_json({"home": str(s.home), "database": _safe_url(s.database_url), **vars(report)})
        return
    was = report.revision_before or "empty"
    click.echo(f"data directory: {s.home}")
    click.echo(f"database: {_safe_url(s.database_url)} ({was} -> {report.revision_after})")
    click.echo(f"species added: {report.species_added}; variables added: {report.variables_added}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@user_errors
def serve(host: str, port: int) -> None:
    """Serve the web portal (for production run it under gunicorn: see README)."""
    from breedhub.cli.serve import run_server

    run_server(settings(), host=host, port=port)


def _register() -> None:
    from breedhub.cli.demo import demo
    from breedhub.cli.genomics import genomics
    from breedhub.cli.germplasm import germplasm
    from breedhub.cli.pipeline import pipeline
    from breedhub.cli.predict import predict
    from breedhub.cli.upload import upload
    from breedhub.cli.user import user
    from breedhub.cli.worker import worker

    main.add_command(germplasm)
    main.add_command(genomics)
    main.add_command(predict)
    main.add_command(pipeline)
    main.add_command(upload)
    main.add_command(user)
    main.add_command(worker)
    main.add_command(demo)


_register()
