"""``breedhub demo``: build a demo data directory and serve the portal on it."""

from __future__ import annotations

import click

from breedhub.cli.common import emit_json, json_option, user_errors


@click.command()
@click.option(
    "--home",
    "demo_home",
    default="breedhub-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Demo data directory (rebuilt on every run).",
)
@click.option("--accessions", default=300, show_default=True, help="Accessions per species.")
@click.option("--seed", default=0, show_default=True, help="Seed of the simulated data.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Build the data directory, then exit.")
@json_option
@user_errors
def demo(
    demo_home: str,
    accessions: int,
    seed: int,
    host: str,
    port: int,
    no_serve: bool,
    as_json: bool,
) -> None:
    """Build a demo data directory for all species and serve the portal on it."""
    from breedhub.cli.serve import run_server
    from breedhub.demo import build_demo, demo_settings

    say = (lambda m: None) if as_json else click.echo
    say(f"building the demo data directory {demo_home} ...")
    report = build_demo(demo_home, n_accessions=accessions, seed=seed, progress=say)
    if as_json:
        emit_json({**vars(report), "home": str(report.home)})
    else:
        click.echo(
            f"demo ready in {report.seconds:.1f} s: {report.accessions} accessions, "
            f"{report.observations} observations, in {report.home}"
        )
        for name, (role, password) in report.logins.items():
            click.echo(f"  log in as {name:<8} password {password}  ({role})")
    if not no_serve:
        run_server(demo_settings(report.home), host=host, port=port, worker=True)
