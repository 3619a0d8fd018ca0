"""Serving the portal from the command line."""

from __future__ import annotations

import click

from breedhub.base.config import Settings


def run_server(settings: Settings, *, host: str, port: int) -> None:
    """Serve the web app with werkzeug's threaded server until interrupted."""
    from werkzeug.serving import make_server

    from breedhub.web import create_app

    app = create_app({"DATABASE_URL": settings.database_url, "BREEDHUB_HOME": str(settings.home)})
    server = make_server(host, port, app, threaded=True)
    click.secho(
        f"breedhub portal: http://{host}:{server.server_port}/  (Ctrl-C to stop)", bold=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
