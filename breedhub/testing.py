"""Throw-away PostgreSQL servers for tests and benchmarks.

:class:`PostgresServer` starts a real PostgreSQL cluster in a temporary
directory from the binaries on the machine (``initdb`` + ``pg_ctl``), on a free
loopback port, with durability switched off for speed. As root it runs the
server as the ``postgres`` user, since ``initdb`` refuses root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
from pathlib import Path


def find_pg_bindir() -> Path | None:
    """The directory holding ``pg_ctl`` (``$BREEDHUB_PG_BINDIR`` first), or None."""
    cands = [os.environ.get("BREEDHUB_PG_BINDIR", "")]
    cands += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for cand in cands:
        if cand and (Path(cand) / "pg_ctl").exists():
            return Path(cand)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A PostgreSQL cluster in ``root``, started by :meth:`start`, removed by :meth:`stop`."""

    def __init__(self, bindir: Path, root: Path, *, durable: bool = False):
        self.bindir, self.root = bindir, root
        self.datadir = root / "data"
        self.port = free_port()
        self.durable = durable
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, text=True)

    def start(self) -> None:
        """Create the cluster and start the server; wait until it accepts connections."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")
            os.chmod(self.root, 0o700)
        self._run(str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
                  "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8")  # fmt: skip
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l",
                  str(self.root / "log"), "-w", "-t", "60", "start", "-o", opts)  # fmt: skip

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        subprocess.run(
            [
                *self.as_user,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-m",
                "fast",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL of database ``dbname`` on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create a database (optionally from a template); return its URL."""
        from sqlalchemy import text

        from breedhub.germplasm.db import make_engine

        admin = make_engine(self.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(
                text(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
            )
        admin.dispose()
        return self.url(name)
