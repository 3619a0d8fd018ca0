"""Serving the portal from the command line."""

from __future__ import annotations

import click

from breedhub.base.config import Settings


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_server(settings: Settings, *, host: str, port: int, worker: bool = False) -> None:
    """Serve the web app with werkzeug's threaded server until interrupted.

    With ``worker``, a task-queue worker runs beside it in this process (the
    demo: one command, nothing else to start); otherwise jobs wait for
    ``breedhub worker``.
    """
    from werkzeug.serving import make_server

    from breedhub.pipelines.queue import make_consumer, queue_url
    from breedhub.web import create_app

    app = create_app({"DATABASE_URL": settings.database_url, "BREEDHUB_HOME": str(settings.home),
                      "QUEUE_URL": queue_url(settings)})  # fmt: skip
    server = make_server(host, port, app, threaded=True)
    consumer = make_consumer(settings, workers=1) if worker else None
    if consumer is not None:
        import signal

        saved = {
            sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        consumer.start()
        for sig, handler in saved.items():  # Huey took them for its own loop, which is not run
            signal.signal(sig, handler)
        signal.signal(signal.SIGTERM, _interrupt)
    click.secho(
        f"breedhub portal: http://{host}:{server.server_port}/  (Ctrl-C to stop)", bold=True
    )
    if consumer is not None:
        click.echo("a worker runs jobs (model runs) beside the portal")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        if consumer is not None:
            consumer.stop(graceful=False)
