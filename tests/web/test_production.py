"""The README's production command: gunicorn serving the app factory, on each engine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from breedhub.testing import free_port


def test_gunicorn__serves_the_portal_as_the_readme_says(db_url, tmp_path):
    port = free_port()
    exe = Path(sys.executable).with_name("gunicorn")
    env = {**os.environ, "BREEDHUB_DATABASE_URL": db_url, "BREEDHUB_HOME": str(tmp_path),
           "BREEDHUB_SECRET_KEY": "test"}  # fmt: skip
    proc = subprocess.Popen(
        [str(exe), "-w", "2", "-b", f"127.0.0.1:{port}", "breedhub.web:create_app()"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/germplasm", timeout=5) as r:
                    page = r.read().decode()
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    raise AssertionError(f"gunicorn did not serve: {proc.stdout.read()}") from None
                time.sleep(0.3)
        assert r.status == 200 and "accessions" in page
    finally:
        proc.terminate()
        proc.wait(timeout=30)
