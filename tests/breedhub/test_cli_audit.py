"""``breedhub germplasm imports``, ``history`` and ``undo`` through the real click app."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from breedhub.cli import main
from breedhub.germplasm import make_engine
from breedhub.germplasm.passport import export_passport
from tests.conftest import DATA
from tests.germplasm.test_audit_history import changed_file, recorded_import


@pytest.fixture
def cli(home):
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == code, result.output + result.stderr
        assert "Traceback" not in result.output + result.stderr
        return result

    return run


@pytest.fixture
def trail(cli, db_url, registry, tmp_path):
    """A recorded first import, a recorded second one that changed R0002, and a pedigree import."""
    eng = make_engine(db_url)
    first = recorded_import(eng, DATA / "mcpd_valid.csv", registry)
    export_passport(eng, tmp_path / "before.csv")
    f = changed_file(tmp_path, "b.csv", {"R0002": {"ORIGCTY": "KOR"}}, extra=[("R0100", {})])
    second = recorded_import(eng, f, registry)
    eng.dispose()
    cli("germplasm", "import", "pedigree", DATA / "pedigree_valid.csv")
    return first, second, second + 1


def test_imports__lists_newest_first(cli, trail):
    first, second, pedigree = trail
    out = json.loads(cli("germplasm", "imports", "--json").output)
    assert [(r["id"], r["kind"]) for r in out] == [
        (pedigree, "pedigree"),
        (second, "passport"),
        (first, "passport"),
    ]
    assert out[0]["counts"]["inserted"] == 1 and len(out[0]["sha256"]) == 64
    assert len(json.loads(cli("germplasm", "imports", "--limit", "1", "--json").output)) == 1
    text = cli("germplasm", "imports").output.splitlines()
    assert text[0].split()[:4] == ["ID", "WHEN", "KIND", "SOURCE"]
    assert text[1].startswith(f"{pedigree} ") and "pedigree_valid.csv" in text[1]


def test_imports__empty_and_bad_limit(cli):
    assert cli("germplasm", "imports").output.strip() == "no imports recorded yet"
    assert json.loads(cli("germplasm", "imports", "--json").output) == []
    for bad in ("0", "abc", "99999999999999999999"):
        result = cli("germplasm", "imports", "--limit", bad, code=2)
        assert "Invalid value for '--limit'" in result.stderr


def test_history__text_and_json(cli, trail):
    first, second, _ = trail
    out = cli("germplasm", "history", "CHN001:R0002").output
    assert out.splitlines()[0].startswith("CHN001:R0002 (id ")
    assert f"import {first}  passport" in out and "created (accession id" in out
    assert f"import {second}  passport" in out and "origcty: 'JPN' -> 'KOR'" in out
    h = json.loads(cli("germplasm", "history", "R0002", "--json").output)
    assert [i["id"] for i in h["imports"]] == [first, second]


def test_history__unknown_accession_is_one_line(cli, trail):
    for ref in ("CHN001:NOPE", "99999999999999999999", "\u00b2"):
        result = cli("germplasm", "history", ref, code=2)
        assert (
            result.stderr.startswith("error: no accession") and len(result.stderr.splitlines()) == 1
        )
    err = json.loads(cli("germplasm", "history", "NOPE", "--json", code=2).output)["error"]
    assert err["type"] == "NotFoundError"


def test_undo__dry_run_then_undo_restores_the_export(cli, trail, tmp_path):
    first, second, pedigree = trail
    out = cli("germplasm", "undo", second, "--dry-run").output
    assert "dry run, nothing changed" in out and "CHN001:R0002  origcty: 'KOR' -> 'JPN'" in out
    assert "CHN001:R0100: delete" in out
    report = json.loads(cli("germplasm", "undo", second, "--json").output)
    assert (report["restored"], report["deleted"], report["dry_run"]) == (1, 1, False)
    cli("germplasm", "export", "passport", tmp_path / "after.csv")
    assert (tmp_path / "after.csv").read_text() == (tmp_path / "before.csv").read_text()
    listed = json.loads(cli("germplasm", "imports", "--json").output)
    assert listed[0]["kind"] == "undo" and listed[0]["undoes_id"] == second
    h = json.loads(cli("germplasm", "history", "CHN001:R0100", "--json").output)
    assert h["accession"]["id"] is None and [i["deleted"] for i in h["imports"]] == [False, True]
    result = cli("germplasm", "undo", second, code=1)
    assert "already undone" in result.stderr and len(result.stderr.splitlines()) == 1
    err = json.loads(cli("germplasm", "undo", str(pedigree), "--json", code=1).output)["error"]
    assert err["type"] == "UndoRefusedError"
    assert "only passport imports can be undone" in err["details"][0]["reason"]


@pytest.mark.parametrize(
    ("arg", "code", "message"),
    [
        ("abc", 1, "error: not an import id: 'abc'"),
        ("-3", 1, "error: not an import id: '-3'"),
        ("12345", 2, "error: no import 12345"),
        ("99999999999999999999", 2, "error: no import 99999999999999999999"),
    ],
)
def test_undo__bad_import_ids_are_one_line(cli, arg, code, message):
    result = cli("germplasm", "undo", "--", arg, code=code)
    assert result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1
