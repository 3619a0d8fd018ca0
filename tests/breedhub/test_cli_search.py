"""``breedhub germplasm search``: bad values are one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from breedhub.cli import main
from breedhub.germplasm import queries_search
from tests.conftest import DATA


@pytest.fixture
def cli(home):
    runner = CliRunner()

    def run(*args: object) -> object:
        return runner.invoke(main, ["germplasm", *map(str, args)], catch_exceptions=False)

    assert run("import", "passport", DATA / "mcpd_valid.csv").exit_code == 0
    return run


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--page", "99999999999999999999"], "page must be at most 1,000,000,000"),
        (["--page", "0"], "page must be 1 or more"),
        (["--page-size", "99999999999999999999"], "page_size must be between 1 and 1000"),
        (["--page-size", "0"], "page_size must be between 1 and 1000"),
        (["--sampstat", "99999999999999999999"], "not an MCPD SAMPSTAT code"),
        (["--"], None),  # "--" alone ends the options: no text, not an error
        (["--", "--"], "has no letter or digit"),
        (["..."], "has no letter or digit"),
        (["IR\x0064"], "must not contain control characters"),
        (["--species", "ri\x00ce"], "must not contain control characters"),
        (["--trait", "GrainYield_t_ha:1:inf"], "must be finite"),
    ],
)
def test_search__bad_values_are_one_line_and_a_failure(cli, args, message):
    result = cli("search", *args)
    out = result.output + result.stderr
    assert "Traceback" not in out
    if message is None:
        assert result.exit_code == 0, out
        return
    assert result.exit_code != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_search__bad_value_as_json_is_an_error_object(cli):
    result = cli("search", "--page", "99999999999999999999", "--json")
    assert result.exit_code != 0
    err = json.loads(result.output)["error"]
    assert err["type"] == "ValueError" and "page must be at most" in err["message"]


@pytest.mark.parametrize("text", ["PHL001:IRGC66970", "PHL001:IRGC 66970", "IRGC66970"])
def test_search__other_number_with_or_without_its_institute(cli, text):
    out = json.loads(cli("search", text, "--json").output)
    assert [r["accenumb"] for r in out["results"]] == ["R0001"]


def test_search__a_bounded_count_says_plus(cli, monkeypatch):
    monkeypatch.setattr(queries_search, "MAX_RESULTS", 2)
    result = cli("search", "--page-size", "1")
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "2+ accessions (page 1 of 2)"
    out = json.loads(cli("search", "--json").output)
    assert (out["total"], out["total_is_lower_bound"]) == (2, True)
    deep = cli("search", "--page", "3", "--page-size", "1")
    assert deep.exit_code != 0 and "narrow the search" in deep.stderr
