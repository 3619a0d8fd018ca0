"""`breedhub demo`: the main job builds its data directory and serves the portal."""

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from breedhub.demo import DemoError, build_demo, demo_settings
from breedhub.germplasm import (
    AccessionQuery,
    accession_detail,
    check_schema,
    make_engine,
    search_accessions,
    session_factory,
)
from breedhub.testing import free_port


def test_build_demo__every_species_with_pedigrees_and_trials(tmp_path, registry):
    report = build_demo(tmp_path / "demo", n_accessions=20, seed=3)
    assert set(report.per_species) == {sp.key for sp in registry}
    assert all(v["accessions"] == 20 and v["observations"] > 0 for v in report.per_species.values())
    engine = make_engine(demo_settings(report.home).database_url)
    check_schema(engine)
    with session_factory(engine)() as s:
        for sp in registry:
            page = search_accessions(s, AccessionQuery(species=sp.key, page_size=100))
            assert page.total == 20
            assert search_accessions(s, AccessionQuery(species=sp.key, genotyped=True)).total == 20
        detail = accession_detail(s, page.results[0]["id"])
        assert detail["genotype_datasets"] and detail["predictions"]
    engine.dispose()
    # every species' GEBVs come from a model run with cross-validated accuracy
    assert all(report.predictions[sp.key] for sp in registry)
    assert all(0 <= t["h2"] <= 1 for p in report.predictions.values() for t in p.values())
    assert (report.home / "genotypes" / "oil_tea-demo.h5").exists()


def test_build_demo__never_overwrites_other_data(tmp_path):
    precious = tmp_path / "real"
    precious.mkdir()
    (precious / "breedhub.sqlite").write_text("not a demo")
    with pytest.raises(DemoError, match="not a breedhub demo directory"):
        build_demo(precious, n_accessions=10)
    assert (precious / "breedhub.sqlite").read_text() == "not a demo"


def test_build_demo__rebuilds_its_own_directory(tmp_path):
    first = build_demo(tmp_path / "d", n_accessions=10, seed=1)
    again = build_demo(tmp_path / "d", n_accessions=10, seed=1)
    assert (first.accessions, first.observations) == (again.accessions, again.observations)


def test_demo_command__serves_the_portal(tmp_path):
    port = free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "breedhub")
    proc = subprocess.Popen(
        [exe, "demo", "--home", str(tmp_path / "d"), "--accessions", "15", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = None
        lines = []
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "http://127.0.0.1:" in line:
                url = line.split()[2]
        assert url == f"http://127.0.0.1:{port}/"
        # a demo login is printed, and works: the login form accepts it
        login = next(x for x in lines if "log in as admin" in x).split()
        assert login[-1] == "(admin)"
        assert (tmp_path / "d" / "demo-logins.txt").read_text().count("\n") == 4
        with urllib.request.urlopen(url + "germplasm?species=oil_tea", timeout=30) as resp:
            page = resp.read().decode()
        assert resp.status == 200 and "15 accessions" in page
    finally:
        proc.terminate()
        proc.wait(timeout=30)
