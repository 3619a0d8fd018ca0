"""``breedhub germplasm import``: re-import options, dry-run listing, rates; the real click app."""

import json

import pytest
from sqlalchemy import func, select

from breedhub.cli.germplasm_import import DRY_RUN_LINES
from breedhub.germplasm import session_factory
from breedhub.germplasm.models import Accession, Observation
from breedhub.germplasm.models_audit import DataImport
from tests.conftest import DATA

HEAD = "INSTCODE,ACCENUMB,GENUS,SPECIES"


@pytest.fixture
def stocked(cli):
    cli("germplasm", "import", "passport", DATA / "mcpd_valid.csv")
    return cli


def stored(engine, accenumb):
    with session_factory(engine)() as s:
        return s.scalars(select(Accession).where(Accession.accenumb == accenumb)).one()


def n_imports(engine):
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(DataImport))


def test_passport__help_documents_the_reimport_options(cli):
    out = cli("germplasm", "import", "passport", "--help").output
    for flag in ("--blank-clears", "--allow-species-change", "--allow-institute-change"):
        assert flag in out
    assert "DELETED" in out and "only in the columns the file has" in out


def test_passport__rate_and_audit_lines(cli, engine):
    result = cli("germplasm", "import", "passport", DATA / "mcpd_valid.csv")
    assert "4 passport rows: 4 new, 0 updated, 0 unchanged in " in result.output
    assert "rows/s)" in result.output
    assert "recorded as import 1" in result.output
    assert "reading" in result.stderr and "validating 4 rows" in result.stderr
    out = json.loads(
        cli("germplasm", "import", "passport", DATA / "mcpd_valid.csv", "--json").output
    )
    assert (out["unchanged"], out["import_id"]) == (4, 2) and out["rows_per_s"] > 0


def test_pedigree_and_observations__rate_line(stocked):
    ped = stocked("germplasm", "import", "pedigree", DATA / "pedigree_valid.csv")
    obs = stocked("germplasm", "import", "observations", DATA / "observations_wide.csv")
    assert "rows/s)" in ped.output and "rows/s)" in obs.output


def test_passport__blank_clears_option(stocked, engine, tmp_path):
    f = tmp_path / "blank.csv"
    f.write_text(f"{HEAD},ORIGCTY\nCHN001,R0002,Oryza,sativa,\n")
    stocked("germplasm", "import", "passport", f)
    assert stored(engine, "R0002").origcty == "JPN"
    result = stocked("germplasm", "import", "passport", f, "--blank-clears")
    assert "1 updated" in result.output and stored(engine, "R0002").origcty == ""


def test_passport__species_change_refused_then_allowed(stocked, engine, tmp_path):
    stocked("germplasm", "import", "observations", DATA / "observations_wide.csv")
    f = tmp_path / "pepper.csv"
    f.write_text(f"{HEAD}\nCHN001,R0001,Capsicum,annuum\n")
    before = n_imports(engine)
    refused = stocked("germplasm", "import", "passport", f, ok=False)
    assert refused.exit_code == 1 and "nothing was imported" in refused.stderr
    assert "row 1, column GENUS/SPECIES" in refused.stderr
    assert "--allow-species-change" in refused.stderr and "Traceback" not in refused.stderr
    assert n_imports(engine) == before and stored(engine, "R0001").genus == "Oryza"
    out = json.loads(
        stocked("germplasm", "import", "passport", f, "--allow-species-change", "--json").output
    )
    assert out["updated"] == 1 and out["detached"]["observation"] > 0
    assert stored(engine, "R0001").genus == "Capsicum"
    with session_factory(engine)() as s:
        acc_id = stored(engine, "R0001").id
        assert not s.scalar(
            select(func.count()).select_from(Observation).where(Observation.accession_id == acc_id)
        )


def test_passport__institute_change_refused_then_allowed(stocked, engine, tmp_path):
    f = tmp_path / "moved.csv"
    f.write_text(f"PUID,{HEAD}\nCHN001:R0003:Oryza,PHL001,IRGC-9,Oryza,sativa\n")
    refused = stocked("germplasm", "import", "passport", f, ok=False)
    assert "row 1, column INSTCODE" in refused.stderr
    assert "--allow-institute-change" in refused.stderr
    result = stocked("germplasm", "import", "passport", f, "--allow-institute-change")
    assert "1 updated" in result.output
    assert stored(engine, "IRGC-9").institute.code == "PHL001"


def test_passport__dry_run_lists_rows_and_writes_nothing(stocked, engine, tmp_path):
    rows = [f"CHN009,N{i:03d},Oryza,sativa,," for i in range(DRY_RUN_LINES + 7)]
    f = tmp_path / "dry.csv"
    f.write_text(
        f"{HEAD},ORIGCTY,REMARKS\n"
        "CHN001,R0002,Oryza,sativa,CHN,\n"
        "CHN001,R0001,Oryza,sativa,,\n"
        "CHN002,BN-001,Oryza,sativa,,\n" + "\n".join(rows) + "\n"
    )
    before = n_imports(engine)
    result = stocked("germplasm", "import", "passport", f, "--dry-run")
    lines = result.stdout.splitlines()
    assert lines[0] == "row 1 CHN001:R0002 changed: ORIGCTY 'JPN' -> 'CHN'"
    assert lines[1].startswith("row 3 CHN002:BN-001 refused: changes the species")
    assert lines[2] == "row 4 CHN009:N000 new"
    assert lines[DRY_RUN_LINES] == "... and 9 more (--json lists every row)"
    assert (
        f"dry run, nothing written: {DRY_RUN_LINES + 10} passport rows: would be "
        f"{DRY_RUN_LINES + 7} new, 1 changed, 1 unchanged, 1 refused"
    ) in lines[-1]
    assert n_imports(engine) == before and stored(engine, "R0002").origcty == "JPN"
    out = json.loads(stocked("germplasm", "import", "passport", f, "--dry-run", "--json").output)
    assert len(out["rows_detail"]) == DRY_RUN_LINES + 9 and out["import_id"] is None
    assert out["rows_detail"][0]["changes"] == [{"field": "ORIGCTY", "old": "JPN", "new": "CHN"}]
