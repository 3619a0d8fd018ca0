"""``breedhub worker``: run the jobs the portal and the commands put on the task queue."""

from __future__ import annotations

import logging

import click

from breedhub.cli.common import settings, user_errors


@click.command()
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Jobs run at once.")  # fmt: skip
@click.option("--verbose", is_flag=True, help="Log every task the queue hands out.")
@user_errors
def worker(workers: int, verbose: bool) -> None:
    """Run queued jobs (model fits, workflows) until stopped with Ctrl-C or SIGTERM.

    The queue is the data directory's queue.sqlite3, or BREEDHUB_QUEUE_URL
    (redis://...) in production; start as many workers, on as many
    machines, as the queue should feed.
    """
    from breedhub.cli.common import engine
    from breedhub.pipelines.queue import make_consumer, queue_url

    s = settings()
    engine(check=True).dispose()  # refuse an unmigrated database before taking jobs
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    consumer = make_consumer(s, workers=workers)
    click.echo(f"breedhub worker: {workers} at once, queue {_safe(queue_url(s))} (Ctrl-C to stop)")
    consumer.run()


def _safe(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url
