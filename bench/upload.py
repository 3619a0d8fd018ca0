#!/usr/bin/env python
"""Upload speed: one large file over tus through gunicorn, against curl to a plain endpoint.

In one run, on loopback:

1. **ours**: a FASTQ of ``--file-mb`` MB (2048 by default) sent by
   ``breedhub.upload_client.upload_file`` (tus, 64 MiB chunks, each with its
   sha256) to ``/api/v1/uploads`` of the breedhub app under gunicorn
   (``--workers`` sync workers); the time runs from creation to the last
   answer, so it includes the server's sha256, FASTQ check, move into
   ``objects/`` and registration;
2. **curl baseline**: ``curl -T`` of the same file to a tiny Flask app, also
   under gunicorn, whose one endpoint streams the body into a file in 1 MiB
   pieces (no checks);
3. **server memory**: the peak resident size (``VmHWM``) of the breedhub
   gunicorn workers after the large upload (goal: flat, independent of size);
4. **small files**: ``--small-files`` FASTQ files of about 2 KB, 8 at a time,
   each created, sent and verified: files per second.

Goals (issue 14): throughput >= 200 MB/s and >= half of curl's. Prints a
table and writes ``bench/results/upload.json``.

    python bench/upload.py                 # 2 GB
    python bench/upload.py --file-mb 512   # smaller
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Keep this script's own folder off the import path (bench/ holds scripts named like packages).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import requests  # noqa: E402

from breedhub.upload_client import FileToSend, upload_file  # noqa: E402

MB = 1_000_000
RESULTS = Path(__file__).parent / "results" / "upload.json"
PLAIN_APP = """
import os
from flask import Flask, request
app = Flask(__name__)

@app.route("/write", methods=["PUT", "POST"])
def write():
    n = 0
    with open(os.environ["BENCH_SINK"], "wb") as fh:
        while piece := request.stream.read(1 << 20):
            fh.write(piece)
            n += len(piece)
        fh.flush()
        os.fsync(fh.fileno())
    return {"bytes": n}
"""
BREEDHUB_APP = """
from breedhub.web import create_app
app = create_app({"RATELIMIT_ENABLED": False, "UPLOAD_MAX_ACTIVE": 64})
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _gunicorn(
    workdir: Path, module: str, workers: int, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    exe = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(exe), "-w", str(workers), "-k", "sync", "-t", "900", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", f"{module}:app"],
        cwd=workdir, env={**os.environ, **env},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"gunicorn {module} did not start")


def _workers_peak_rss_mb(master: int) -> float:
    peak = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master) and "VmHWM" in fields:
            peak = max(peak, int(fields["VmHWM"].split()[0]))
    return peak / 1024


def _fastq(path: Path, size_mb: int) -> str:
    """A FASTQ of about ``size_mb`` MB (a 4 MB block of random reads repeated); its sha256."""
    rng = random.Random(1)
    table = bytes(b"ACGT"[i % 4] for i in range(256))
    block = b"".join(
        b"@read%d/1\n%s\n+\n%s\n" % (i, rng.randbytes(150).translate(table), b"F" * 150)
        for i in range(4 * MB // 320)
    )
    h = hashlib.sha256()
    with open(path, "wb") as fh:
        written = 0
        while written < size_mb * MB:
            fh.write(block)
            h.update(block)
            written += len(block)
    return h.hexdigest()


def _setup(home: Path) -> str:
    env = {**os.environ, "BREEDHUB_HOME": str(home)}
    cli = [str(Path(sys.executable).with_name("breedhub"))]
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
    code = (
        "from breedhub.base.config import Settings\n"
        "from breedhub.germplasm import make_engine, transaction\n"
        "from breedhub.germplasm.institutes import save_institute\n"
        "from breedhub.germplasm.users import add_user, create_token\n"
        "with transaction(make_engine(Settings.from_env().database_url)) as s:\n"
        "    save_institute(s, 'PHL001', name='Bench institute')\n"
        "    s.flush()\n"
        "    add_user(s, 'bench', role='uploader', institute='PHL001')\n"
        "    print(create_token(s, 'bench', name='bench')[0])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]


def run(file_mb: int, small_files: int, workers: int, work: Path) -> dict[str, object]:
    home, upload_dir = work / "home", work / "incoming"
    home.mkdir()
    token = _setup(home)
    big = work / "big.fastq"
    sha = _fastq(big, file_mb)
    size = big.stat().st_size
    (work / "bh_wsgi.py").write_text(BREEDHUB_APP)
    (work / "plain_wsgi.py").write_text(PLAIN_APP)
    env = {"BREEDHUB_HOME": str(home), "BREEDHUB_UPLOAD_DIR": str(upload_dir),
           "BENCH_SINK": str(work / "sink.bin")}  # fmt: skip
    server, url = _gunicorn(work, "bh_wsgi", workers, env)
    plain, plain_url = _gunicorn(work, "plain_wsgi", workers, env)
    try:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        endpoint = url + "/api/v1/uploads"
        t0 = time.perf_counter()
        done = upload_file(
            http, endpoint, FileToSend("big.fastq", big, sha, size), chunk_size=64 << 20
        )
        ours_s = time.perf_counter() - t0
        assert done.state == "verified", done.message
        assert (home / "objects" / sha[:2] / sha).stat().st_size == size
        peak_mb = _workers_peak_rss_mb(server.pid)
        t0 = time.perf_counter()
        subprocess.run(["curl", "-sS", "-o", "/dev/null", "-H", "Expect:", "-T", str(big),
                        plain_url + "/write"], check=True)  # fmt: skip
        curl_s = time.perf_counter() - t0
        assert (work / "sink.bin").stat().st_size == size
        (work / "sink.bin").unlink()
        small_dir = work / "small"
        small_dir.mkdir()
        rng = random.Random(2)
        smalls = []
        for i in range(small_files):
            data = b"".join(b"@s%d_%d\n%s\n+\n%s\n" % (i, k, rng.randbytes(100).translate(
                bytes(b"ACGT"[j % 4] for j in range(256))), b"I" * 100) for k in range(8))  # fmt: skip
            p = small_dir / f"s{i}.fq"
            p.write_bytes(data)
            smalls.append(FileToSend(p.name, p, hashlib.sha256(data).hexdigest(), len(data)))
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            states = list(pool.map(lambda f: upload_file(http, endpoint, f).state, smalls))
        small_s = time.perf_counter() - t0
        assert states.count("verified") == small_files, states[:5]
        peak_after_small = _workers_peak_rss_mb(server.pid)
    finally:
        for proc in (server, plain):
            proc.terminate()
            proc.wait(30)
    return {
        "file_mb": round(size / MB, 1),
        "throughput_mb_s": round(size / MB / ours_s, 1),
        "upload_s": round(ours_s, 2),
        "curl_baseline_mb_s": round(size / MB / curl_s, 1),
        "curl_s": round(curl_s, 2),
        "ratio_to_curl": round(curl_s / ours_s, 2),
        "server_peak_rss_mb": round(peak_mb, 1),
        "server_peak_rss_after_small_files_mb": round(peak_after_small, 1),
        "small_files": small_files,
        "small_files_per_s": round(small_files / small_s, 1),
        "gunicorn_workers": workers,
        "chunk_mb": 64 * (1 << 20) / MB,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file-mb", type=int, default=2048, help="Size of the large file (MB).")
    ap.add_argument("--small-files", type=int, default=1000, help="Number of small files.")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn sync workers.")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    try:
        result = run(args.file_mb, args.small_files, args.workers, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result.update({
        "goal_throughput_mb_s": 200,
        "meets_goals": result["throughput_mb_s"] >= 200
        and result["throughput_mb_s"] >= result["curl_baseline_mb_s"] / 2,
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "date": dt.date.today().isoformat(),
        "command": "python bench/upload.py " + " ".join(sys.argv[1:]),
    })  # fmt: skip
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
