"""The Predictions ranking page: order in each trait's direction, filters, paging, exports, access."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest
from openpyxl import load_workbook

from tests.web._predictions_data import N, add_prediction_runs
from tests.web.conftest import login


@pytest.fixture
def data(app, world):
    return add_prediction_runs(app, world)


def _ranking(client, **params):
    return client.get("/predictions", query_string=params)


def _accessions(html: str) -> list[str]:
    return re.findall(r'<td><a href="/germplasm/\d+">(PR-\d\d)</a></td>', html)


def _csv(resp) -> tuple[list[str], list[dict[str, str]]]:
    lines = resp.get_data(as_text=True).splitlines()
    comments = [line for line in lines if line.startswith("# ")]
    body = [line for line in lines if not line.startswith("# ")]
    return comments, list(csv.DictReader(io.StringIO("\n".join(body))))


def test_ranking__lower_trait_rank_one_has_lowest_gebv(client, data):
    resp = _ranking(client, run=data.run_id, trait="DaysToHeading_d", page_size=100)
    assert resp.status_code == 200
    shown = _accessions(resp.text)
    gebv = data.gebv["DaysToHeading_d"]
    expected = [f"PR-{i + 1:02d}" for i in np.argsort(gebv, kind="stable")]
    assert shown == expected
    assert "lower is better" in resp.text


def test_ranking__higher_trait_rank_one_has_highest_gebv(client, data):
    resp = _ranking(client, run=data.run_id, trait="GrainYield_t_ha")
    best = int(np.argmax(data.gebv["GrainYield_t_ha"]))
    assert _accessions(resp.text)[0] == f"PR-{best + 1:02d}"
    assert "higher is better" in resp.text


def test_ranking__optimum_trait_shows_goal_and_predicted_value(client, data):
    resp = _ranking(client, run=data.run_id, trait="PlantHeight_cm")
    assert "optimum 100 cm" in resp.text
    assert "Predicted value" in resp.text
    gebv = data.gebv["PlantHeight_cm"]
    best = int(np.argmin(np.abs(105 + gebv - 100)))
    assert _accessions(resp.text)[0] == f"PR-{best + 1:02d}"


def test_ranking__k_of_n_shown(client, data):
    resp = _ranking(client, run=data.run_id, trait="GrainYield_t_ha")
    assert f"1 of {N}" in resp.text
    assert f"2 of {N}" in resp.text


def test_ranking__filters_change_the_total(client, data):
    def total(**f):
        resp = _ranking(client, run=data.run_id, trait="GrainYield_t_ha", **f)
        assert resp.status_code == 200, resp.text[:400]
        return int(re.search(r'<span class="total">(\d+)</span>', resp.text).group(1))

    assert total() == N
    assert total(institute="PHL001") == 15
    assert total(institute="chn999") == 15
    assert total(genotyped="yes") == 10
    assert total(genotyped="no") == N - 10
    assert total(trial=data.trial_name) == 6
    assert total(trial=str(data.trial_id)) == 6
    assert total(group="IR64") == 5
    assert total(group="IRGC 66970") == 5
    assert total(genotyped="yes", institute="PHL001", trial=data.trial_name) == 3
    assert total(institute="XXX000") == 0


def test_ranking__paging(client, data):
    first = _accessions(_ranking(client, run=data.run_id, trait="GrainYield_t_ha",
                                 page_size=7).text)  # fmt: skip
    second = _accessions(
        _ranking(client, run=data.run_id, trait="GrainYield_t_ha", page_size=7, page=2).text
    )
    order = [f"PR-{i + 1:02d}" for i in np.argsort(-data.gebv["GrainYield_t_ha"], kind="stable")]
    assert first == order[:7] and second == order[7:14]
    past = _ranking(client, run=data.run_id, trait="GrainYield_t_ha", page=99)
    assert past.status_code == 200 and _accessions(past.text) == []


def test_ranking__page_size_capped_for_anonymous_not_for_users(client, data, accounts):
    assert _ranking(client, run=data.run_id, page_size=101).status_code == 400
    assert _ranking(client, run=data.run_id, page_size=100).status_code == 200
    login(client, "bea")
    assert _ranking(client, run=data.run_id, page_size=500).status_code == 200
    assert _ranking(client, run=data.run_id, page_size=501).status_code == 400


def test_ranking__csv_export_every_matching_row(client, data):
    resp = _ranking(client, run=data.run_id, trait="DaysToHeading_d", institute="PHL001",
                    page_size=3, format="csv")  # fmt: skip
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    comments, rows = _csv(resp)
    text = "\n".join(comments)
    assert "multi-2025" in text and "DaysToHeading_d" in text and "lower is better" in text
    assert len(rows) == 15
    gebvs = [float(r["gebv"]) for r in rows]
    assert gebvs == sorted(gebvs)
    assert all(r["institute"] == "PHL001" and r["of_n"] == str(N) for r in rows)
    by_number = {f"PR-{i + 1:02d}": g for i, g in enumerate(data.gebv["DaysToHeading_d"])}
    assert all(float(r["gebv"]) == pytest.approx(by_number[r["accession_number"]]) for r in rows)


def test_ranking__csv_export_optimum_has_predicted_value(client, data):
    _, rows = _csv(_ranking(client, run=data.run_id, trait="PlantHeight_cm", format="csv"))
    assert len(rows) == N
    for r in rows:
        assert float(r["predicted_value"]) == pytest.approx(105 + float(r["gebv"]))


def test_ranking__xlsx_export_opens(client, data):
    resp = _ranking(client, run=data.run_id, trait="GrainYield_t_ha", genotyped="yes",
                    format="xlsx")  # fmt: skip
    assert resp.status_code == 200
    book = load_workbook(io.BytesIO(resp.data), read_only=True)
    values = list(book.active.iter_rows(values_only=True))
    assert "multi-2025" in values[0][0]
    header_at = next(i for i, row in enumerate(values) if row and row[0] == "rank")
    rows = values[header_at + 1 :]
    assert len(rows) == 10
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert all(r[8] == "yes" for r in rows)


def test_ranking__restricted_run_404_for_other_institute_and_anonymous(client, data, accounts):
    assert _ranking(client, run=data.secret_run_id).status_code == 404
    assert _ranking(client, run=data.secret_run_id, format="csv").status_code == 404
    login(client, "bea")  # PHL001
    resp = _ranking(client, run=data.secret_run_id)
    assert resp.status_code == 404
    assert "secret-2025" not in _ranking(client, species="rice", run=data.run_id).text


def test_ranking__restricted_run_visible_to_its_institute(client, data, accounts):
    login(client, "chen")  # CHN999
    resp = _ranking(client, run=data.secret_run_id)
    assert resp.status_code == 200
    assert "secret-2025" in resp.text
    assert _accessions(resp.text) == [f"PR-{k:02d}" for k in (5, 4, 3, 2, 1)]


def test_ranking__no_species_lists_species_and_visible_runs(client, data):
    resp = client.get("/predictions")
    assert resp.status_code == 200
    assert "multi-2025" in resp.text and "secret-2025" not in resp.text
    assert "Pepper" in resp.text or "pepper" in resp.text


def test_ranking__run_without_predictions_says_so(app, client, data):
    from breedhub.germplasm import transaction
    from breedhub.germplasm.models import ModelRun, SpeciesRow
    from breedhub.web.db import get_engine

    with transaction(get_engine(app)) as s:
        rice = s.query(SpeciesRow).filter_by(key="rice").one()
        run = ModelRun(name="empty-run", method="gblup", species_id=rice.id)
        s.add(run)
        s.flush()
        run_id = run.id
    resp = _ranking(client, run=run_id)
    assert resp.status_code == 200
    assert "has no predictions" in resp.text


def test_ranking__add_to_list_form_only_when_logged_in(app, client, data, accounts):
    if "lists.add_items" not in app.view_functions:  # the lists page is another module's
        app.add_url_rule("/lists/add", "lists.add_items", lambda: "", methods=["POST"])
    html = _ranking(client, run=data.run_id).text
    assert 'name="accession"' not in html
    login(client, "bea")
    html = _ranking(client, run=data.run_id, trait="GrainYield_t_ha").text
    form = html.split('action="/lists/add"', 1)[1].split("</form>", 1)[0]
    ticks = re.findall(r'name="accession" value="(\d+)"', form)
    assert len(ticks) == 25 and int(ticks[0]) in data.accession_ids
    assert 'name="csrf_token"' in form and 'name="next"' in form and 'name="name"' in form


def test_ranking__no_add_to_list_form_without_the_lists_page(app, client, data, accounts):
    login(client, "bea")
    if "lists.add_items" not in app.view_functions:
        assert 'name="accession"' not in _ranking(client, run=data.run_id).text


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"page": "99999999999999999999"}, "page"),
        ({"page": "0"}, "page"),
        ({"page_size": "²"}, "page_size"),
        ({"trait": "NoSuchTrait"}, "trait"),
        ({"genotyped": "maybe"}, "genotyped"),
        ({"trial": "No such trial"}, "trial"),
        ({"group": "nobody-at-all"}, "group"),
        ({"format": "pdf"}, "format"),
        ({"species": "unicorn"}, "species"),
        ({"institute": "a\x00b"}, "institute"),
    ],
)
def test_ranking__bad_parameter_400_names_it(client, data, params, parameter):
    resp = _ranking(client, run=data.run_id, **params)
    assert resp.status_code == 400
    assert parameter in resp.text
    assert "Traceback" not in resp.text


def test_ranking__unknown_run_404(client, data):
    assert _ranking(client, run="2147483647").status_code == 404
    assert _ranking(client, run="99999999999999999999").status_code == 400


def test_ranking__page_links_keep_the_chosen_run_trait_and_filters(client, data):
    resp = _ranking(client, run=data.run_id, trait="DaysToHeading_d", genotyped="yes", page_size=4)
    hrefs = re.findall(r'href="([^"]+)"', resp.text)
    export = next(h for h in hrefs if "format=csv" in h).replace("&amp;", "&")
    _, rows = _csv(client.get(export))
    assert len(rows) == 10 and all(r["genotyped"] == "yes" for r in rows)
    nxt = next(h for h in hrefs if "page=2" in h).replace("&amp;", "&")
    assert f"run={data.run_id}" in nxt and "trait=DaysToHeading_d" in nxt
    assert len(_accessions(client.get(nxt).text)) == 4
