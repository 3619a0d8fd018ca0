"""The ``breedhub`` command line, run in-process on both engines."""

import json

import pytest
from click.testing import CliRunner

from breedhub.cli import main
from tests.conftest import DATA


@pytest.fixture
def stocked(cli):
    cli("germplasm", "import", "passport", DATA / "mcpd_valid.csv")
    cli("germplasm", "import", "pedigree", DATA / "pedigree_valid.csv")
    cli("germplasm", "import", "observations", DATA / "observations_wide.csv")
    return cli


def test_init__creates_the_data_directory(cli, home, engine):
    from breedhub.germplasm.db import head_revision

    out = json.loads(cli("init", "--json").output)
    assert out["revision_after"] == head_revision(engine) and out["species_added"] == 0
    assert {"objects", "genotypes", "models", "runs"} <= {p.name for p in home.iterdir()}


def test_import__reports_counts_as_json(cli):
    out = json.loads(
        cli("germplasm", "import", "passport", DATA / "mcpd_valid.csv", "--json").output
    )
    assert (out["rows"], out["inserted"]) == (4, 4)


def test_import__broken_file_lists_every_row_and_fails(cli):
    result = cli("germplasm", "import", "passport", DATA / "mcpd_broken.csv", ok=False)
    assert result.exit_code == 1
    assert "13 problems, nothing was imported" in result.stderr
    assert "row 3, column ACQDATE ('20050230'): impossible date" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    result = cli("germplasm", "import", "passport", DATA / "mcpd_broken.csv", "--json", ok=False)
    err = json.loads(result.output)["error"]
    assert err["type"] == "ValidationError" and len(err["details"]) == 13
    assert {"row": 8, "column": "ACCENUMB", "value": "R0102"}.items() <= err["details"][8].items()
    out = json.loads(cli("germplasm", "search", "--json").output)
    assert out["total"] == 0


def test_search__json_shape_and_filters(stocked):
    out = json.loads(stocked("germplasm", "search", "--species", "rice", "--json").output)
    assert set(out) == {"total", "page", "page_size", "results"}
    assert out["total"] == 3 and [r["accenumb"] for r in out["results"]] == [
        "R0001",
        "R0002",
        "R0003",
    ]
    out = json.loads(stocked("germplasm", "search", "ir-64", "--json").output)
    assert [r["accenumb"] for r in out["results"]] == ["R0001"]
    out = json.loads(
        stocked(
            "germplasm",
            "search",
            "--trait",
            "GrainYield_t_ha:6:",
            "--sort",
            "GrainYield_t_ha",
            "--desc",
            "--json",
        ).output
    )
    assert [(r["accenumb"], r["traits"]["GrainYield_t_ha"]) for r in out["results"]] == [
        ("R0003", 8.0),
        ("R0001", 7.0),
    ]
    out = json.loads(stocked("germplasm", "search", "--sampstat", "400", "--json").output)
    assert [r["accenumb"] for r in out["results"]] == ["R0003"]  # 410 is under 400
    out = json.loads(
        stocked("germplasm", "search", "--page-size", "2", "--page", "2", "--json").output
    )
    assert (out["total"], len(out["results"]), out["page"]) == (4, 2, 2)
    table = stocked("germplasm", "search", "--origin", "JPN").output
    assert "1 accessions" in table and "Nipponbare" in table


def test_search__bad_arguments_are_messages(stocked):
    for args, text in [
        (("--page", "0"), "page must be 1 or more"),
        (("--sampstat", "450"), "not an MCPD SAMPSTAT code"),
        (("--trait", "NoSuch:1:2"), "unknown observation variable"),
    ]:
        r = stocked("germplasm", "search", *args, ok=False)
        assert r.exit_code != 0 and text in r.stderr and "Traceback" not in r.stderr
    r = stocked("germplasm", "search", "--trait", "x", ok=False)
    assert r.exit_code == 2 and "VARIABLE:MIN:MAX" in r.stderr


def test_show__text_json_and_unknown(stocked):
    text = stocked("germplasm", "show", "CHN001:R0003").output
    assert (
        "Zhongzao 39" in text
        and "CHN001:R0001 x CHN001:R0002" in text
        and "GrainYield_t_ha" in text
    )
    d = json.loads(stocked("germplasm", "show", "R0001", "--json").output)
    assert d["passport"]["ORIGCTY"] == "PHL" and d["ploidy"] == 2
    r = stocked("germplasm", "show", "NOPE", ok=False)
    assert r.exit_code == 2 and "no accession 'NOPE'" in r.stderr


def test_export__writes_the_file(stocked, tmp_path):
    out = tmp_path / "p.tsv"
    assert json.loads(stocked("germplasm", "export", "passport", out, "--json").output)["rows"] == 4
    assert out.read_text().splitlines()[0].startswith("PUID\tINSTCODE\tACCENUMB")
    stocked("germplasm", "export", "observations", tmp_path / "o.csv", "--trial", "RICE-2024")
    assert len((tmp_path / "o.csv").read_text().splitlines()) == 8


def test_user__add_and_token(cli):
    cli("user", "add", "ana", "--role", "breeder")
    tok = json.loads(cli("user", "token", "ana", "--json").output)["token"]
    assert tok.startswith("bh_") and len(tok) > 30
    r = cli("user", "add", "ana", "--role", "breeder", ok=False)
    assert r.exit_code == 1 and "already exists" in r.stderr


def test_commands__refuse_an_uninitialised_database(tmp_path, monkeypatch):
    monkeypatch.setenv("BREEDHUB_DATABASE_URL", f"sqlite:///{tmp_path / 'none.sqlite'}")
    r = CliRunner().invoke(main, ["germplasm", "search"])
    assert r.exit_code == 1 and "run `breedhub init`" in r.stderr


def test_user__list_set_role_deactivate_and_password(cli, db_url):
    cli("user", "add", "root", "--role", "admin", "--password", "first-password-1")
    cli("user", "add", "ana", "--role", "breeder")
    cli("user", "set-role", "ana", "bioinformatician")
    cli("user", "deactivate", "ana")
    rows = {r["username"]: r for r in json.loads(cli("user", "list", "--json").output)}
    assert rows["ana"]["role"] == "bioinformatician" and rows["ana"]["active"] is False
    assert "ana" in cli("user", "list").output
    cli("user", "activate", "ana")
    cli("user", "password", "root", "--password", "second-password-2")
    from breedhub.germplasm import make_engine, transaction
    from breedhub.germplasm.users import check_password, user_by_name

    with transaction(make_engine(db_url)) as s:
        root = user_by_name(s, "root")
        assert check_password(root.password_hash, "second-password-2")
        assert user_by_name(s, "ana").active
    # the only admin cannot be demoted or deactivated; an unknown user is named
    r = cli("user", "set-role", "root", "breeder", ok=False)
    assert r.exit_code == 1 and "admin" in r.stderr
    r = cli("user", "deactivate", "nobody", ok=False)
    assert "nobody" in r.stderr
