"""The selection index: its numbers against numpy, the page, exports, saving and sharing."""

from __future__ import annotations

import csv
import io
import math
import re

import numpy as np
import pytest

from breedhub.pipelines.selection_index import IndexTrait, selection_index
from breedhub.predict.exceptions import InputError
from tests.web._predictions_data import N, add_prediction_runs
from tests.web.conftest import csrf_token, login

I_10 = 1.7549833193249  # selection intensity at p = 0.1 (Falconer & Mackay, Table A)


@pytest.fixture
def data(app, world):
    return add_prediction_runs(app, world)


# --- the numbers (pipelines.selection_index) -------------------------------------------------

X = np.array([[1.0, 4.0], [2.0, -1.0], [0.5, 1.0], [-1.0, -3.0], [1.5, 0.0]])
REL = np.array([[0.64] * 2, [0.64] * 2, [0.64] * 2, [0.64] * 2, [0.64] * 2]) * [1.0, 0.5625]
TWO = [IndexTrait("yield", "higher", 2.0), IndexTrait("heading", "lower", 0.5)]


def test_selection_index__hand_checked_two_traits():
    """Yield up (weight 2), heading down (weight 0.5 per day earlier): compare to numpy."""
    r = selection_index(list("abcde"), X, REL, TWO, mode="weights", proportion=0.1)
    a = np.array([2.0, -0.5])  # the lower trait's weight turned into "per unit increase"
    c = np.cov(X, rowvar=False)
    scores = X @ a
    assert [x.id for x in r.ranked] == [list("abcde")[i] for i in np.argsort(-scores)]
    assert [x.score for x in r.ranked] == pytest.approx(sorted(scores, reverse=True))
    np.testing.assert_allclose(r.weights, a)
    np.testing.assert_allclose(r.response, I_10 * c @ a / math.sqrt(a @ c @ a), rtol=1e-9)
    assert r.intensity == pytest.approx(I_10, abs=1e-9)
    g = c / np.outer([0.8, 0.6], [0.8, 0.6])  # Var(g) = Var(GEBV) / reliability
    assert r.accuracy == pytest.approx((a @ c @ a) / math.sqrt((a @ c @ a) * (a @ g @ a)))
    assert r.aggregate_gain == pytest.approx(a @ r.response)
    assert r.n_selected == 1


def test_selection_index__positive_weight_on_lower_trait_selects_lower_values():
    r = selection_index(list("abcde"), X[:, 1:], None, [IndexTrait("heading", "lower", 1.0)])
    assert r.ranked[0].id == "d"  # heading GEBV -3: the earliest
    assert r.response[0] < 0


def test_selection_index__single_trait_accuracy_is_root_reliability():
    r = selection_index(list("abcde"), X[:, :1], REL[:, :1], [IndexTrait("y", "higher", 1.0)])
    assert r.accuracy == pytest.approx(0.8)


def test_selection_index__desired_gains_give_proportional_responses():
    gains = [IndexTrait("yield", "higher", 1.0), IndexTrait("heading", "lower", 3.0)]
    r = selection_index(list("abcde"), X, None, gains, mode="gains", proportion=0.2)
    ratio = r.response / np.array([1.0, -3.0])
    assert ratio[0] > 0
    assert ratio[0] == pytest.approx(ratio[1])
    assert r.accuracy is None and any("reliability" in n for n in r.notes)


def test_selection_index__optimum_trait_left_out_with_a_note():
    traits = [*TWO, IndexTrait("height", "optimum", 1.0, optimum=100.0)]
    x = np.column_stack([X, [1.0, 2.0, 3.0, 4.0, 5.0]])
    r = selection_index(list("abcde"), x, None, traits)
    assert r.traits == ["yield", "heading"]
    assert any("height" in n and "optimum 100" in n for n in r.notes)


def test_selection_index__missing_gebvs_drop_the_candidate():
    x = X.copy()
    x[2, 1] = np.nan
    r = selection_index(list("abcde"), x, None, TWO)
    assert "c" not in [c.id for c in r.ranked] and r.n_dropped == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "both"}, "mode"),
        ({"proportion": 1.0}, "proportion"),
        ({"proportion": 0.0}, "proportion"),
    ],
)
def test_selection_index__bad_options_raise(kwargs, message):
    with pytest.raises(InputError, match=message):
        selection_index(list("abcde"), X, None, TWO, **kwargs)


def test_selection_index__all_zero_weights_or_too_few_candidates_raise():
    zero = [IndexTrait("yield", "higher", 0.0), IndexTrait("heading", "lower", 0.0)]
    with pytest.raises(InputError, match="zero"):
        selection_index(list("abcde"), X, None, zero)
    with pytest.raises(InputError, match="at least 3"):
        selection_index(["a", "b"], X[:2], None, TWO)


# --- the page ------------------------------------------------------------------------------


def _index(client, **params):
    return client.get("/predictions/index", query_string=params)


def _order(html: str) -> list[str]:
    table = html.split('id="index-table"', 1)[1]
    return re.findall(r'<a href="/germplasm/\d+">(PR-\d\d)</a>', table)


def _responses(html: str) -> dict[str, float]:
    rows = re.findall(r'<tr data-trait="([^"]+)">.*?data-value="([^"]+)"', html, re.S)
    return {t: float(v) for t, v in rows}


def _names(order: np.ndarray) -> list[str]:
    return [f"PR-{i + 1:02d}" for i in order]


def test_index_page__weights_change_the_order(client, data):
    y, d = data.gebv["GrainYield_t_ha"], data.gebv["DaysToHeading_d"]
    by_yield = _index(client, run=data.run_id, **{"weight.GrainYield_t_ha": "1"}, page_size=100)
    assert by_yield.status_code == 200, by_yield.text[:500]
    assert _order(by_yield.text) == _names(np.argsort(-y, kind="stable"))
    by_heading = _index(client, run=data.run_id, **{"weight.DaysToHeading_d": "1"}, page_size=100)
    assert _order(by_heading.text) == _names(np.argsort(d, kind="stable"))
    both = _index(client, run=data.run_id, page_size=100,
                  **{"weight.GrainYield_t_ha": "2", "weight.DaysToHeading_d": "0.25"})  # fmt: skip
    assert _order(both.text) == _names(np.argsort(-(2 * y - 0.25 * d), kind="stable"))


def test_index_page__responses_and_accuracy_match_numpy(client, data):
    y, d = data.gebv["GrainYield_t_ha"], data.gebv["DaysToHeading_d"]
    resp = _index(client, run=data.run_id, proportion="0.1",
                  **{"weight.GrainYield_t_ha": "2", "weight.DaysToHeading_d": "0.25"})  # fmt: skip
    x = np.column_stack([d, y])  # the run's traits by name: DaysToHeading_d, GrainYield_t_ha
    a = np.array([-0.25, 2.0])
    c = np.cov(x, rowvar=False)
    expected = I_10 * c @ a / math.sqrt(a @ c @ a)
    got = _responses(resp.text)
    assert got["DaysToHeading_d"] == pytest.approx(expected[0], rel=1e-6)
    assert got["GrainYield_t_ha"] == pytest.approx(expected[1], rel=1e-6)
    r2 = np.array([data.reliability["DaysToHeading_d"].mean(),
                   data.reliability["GrainYield_t_ha"].mean()])  # fmt: skip
    g = c / np.outer(np.sqrt(r2), np.sqrt(r2))
    accuracy = (a @ c @ a) / math.sqrt((a @ c @ a) * (a @ g @ a))
    shown = re.search(r'id="accuracy">([^<]+)<', resp.text).group(1)
    assert float(shown) == pytest.approx(accuracy, abs=6e-4)


def test_index_page__desired_gains_proportional(client, data):
    resp = _index(client, run=data.run_id, mode="gains",
                  **{"gain.GrainYield_t_ha": "0.5", "gain.DaysToHeading_d": "2"})  # fmt: skip
    assert resp.status_code == 200
    got = _responses(resp.text)
    # 2 days earlier for each 0.5 t/ha: responses -2 : 0.5 (days go down)
    assert got["DaysToHeading_d"] < 0 < got["GrainYield_t_ha"]
    assert got["DaysToHeading_d"] / got["GrainYield_t_ha"] == pytest.approx(-4.0)


def test_index_page__weight_pairs_form_is_the_same_index(client, data):
    dotted = _index(client, run=data.run_id, **{"weight.DaysToHeading_d": "1"}, page_size=50)
    paired = client.get(
        f"/predictions/index?run={data.run_id}&weight=DaysToHeading_d:1&page_size=50"
    )
    assert _order(dotted.text) == _order(paired.text)


def test_index_page__optimum_trait_left_out(client, data):
    resp = _index(client, run=data.run_id,
                  **{"weight.GrainYield_t_ha": "1", "weight.PlantHeight_cm": "1"})  # fmt: skip
    assert resp.status_code == 200
    assert "PlantHeight_cm is left out" in resp.text
    assert set(_responses(resp.text)) == {"GrainYield_t_ha"}


def test_index_page__csv_export_every_candidate(client, data):
    resp = _index(client, run=data.run_id, format="csv", page_size=5,
                  **{"weight.GrainYield_t_ha": "1", "weight.DaysToHeading_d": "0.1"})  # fmt: skip
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    lines = resp.get_data(as_text=True).splitlines()
    comments = [line for line in lines if line.startswith("# ")]
    assert any("multi-2025" in c for c in comments)
    assert any("expected response DaysToHeading_d" in c for c in comments)
    rows = list(csv.DictReader(io.StringIO("\n".join(line for line in lines if line[:1] != "#"))))
    assert len(rows) == N
    y, d = data.gebv["GrainYield_t_ha"], data.gebv["DaysToHeading_d"]
    expected = y - 0.1 * d
    assert [float(r["index"]) for r in rows] == pytest.approx(sorted(expected, reverse=True))
    assert sum(r["selected"] == "yes" for r in rows) == 3  # ceil(0.1 * 30)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"weight.GrainYield_t_ha": "abc"}, "weight.GrainYield_t_ha"),
        ({"weight.GrainYield_t_ha": "nan"}, "weight.GrainYield_t_ha"),
        ({"gain.GrainYield_t_ha": "1e999"}, "gain.GrainYield_t_ha"),
        ({"weight.NoSuchTrait": "1"}, "weight.NoSuchTrait"),
        ({"weight": "abc"}, "weight"),
        ({"proportion": "2"}, "proportion"),
        ({"proportion": "0"}, "proportion"),
        ({"proportion": "1"}, "proportion"),
        ({"proportion": "x"}, "proportion"),
        ({"page": "99999999999999999999"}, "page"),
        ({"page_size": "100000"}, "page_size"),
        ({"mode": "magic"}, "mode"),
        ({"format": "pdf"}, "format"),
    ],
)
def test_index_page__bad_parameter_400_with_message(client, data, params, parameter):
    resp = _index(client, run=data.run_id, **{"weight.GrainYield_t_ha": "1", **params})
    assert resp.status_code == 400, resp.text[:300]
    assert parameter in resp.text
    assert "Traceback" not in resp.text


def test_index_page__all_zero_weights_400_with_message(client, data):
    resp = _index(client, run=data.run_id, **{"weight.GrainYield_t_ha": "0"})
    assert resp.status_code == 400
    assert "cannot be computed" in resp.text and "zero" in resp.text


def test_index_page__restricted_run_404(client, data, accounts):
    assert _index(client, run=data.secret_run_id).status_code == 404
    login(client, "chen")
    assert _index(client, run=data.secret_run_id).status_code == 200


# --- save, share, delete -------------------------------------------------------------------


def _save(client, data, **fields):
    form = {
        "csrf_token": csrf_token(client, "/login"),
        "name": "yield first", "run": str(data.run_id), "mode": "weights", "proportion": "0.2",
        "weight.GrainYield_t_ha": "1", "weight.DaysToHeading_d": "0.5",
    }  # fmt: skip
    form.update(fields)
    return client.post("/predictions/index/save", data=form)


def test_save_index__reopens_it(client, data, accounts):
    login(client, "bea")
    resp = _save(client, data)
    assert resp.status_code == 302
    url = resp.headers["Location"]
    assert re.fullmatch(r"/predictions/index/\d+", url)
    page = client.get(url)
    assert page.status_code == 200
    assert "yield first" in page.text
    assert 'value="0.5"' in page.text  # the saved weight in the form
    fresh = _index(client, run=data.run_id, proportion="0.2",
                   **{"weight.GrainYield_t_ha": "1", "weight.DaysToHeading_d": "0.5"})  # fmt: skip
    assert _order(page.text) == _order(fresh.text)
    assert "yield first" in _index(client, run=data.run_id).text  # listed


def test_save_index__restricted_seen_by_its_institute_only(app, data, accounts):
    owner = app.test_client()
    login(owner, "bea")
    url = _save(owner, data, visibility="restricted", name="PHL only").headers["Location"]
    assert app.test_client().get(url).status_code == 404  # anonymous
    other = app.test_client()
    login(other, "chen")  # CHN999
    assert other.get(url).status_code == 404
    assert "PHL only" not in other.get("/predictions/index").text
    colleague = app.test_client()
    login(colleague, "bio")  # PHL001
    assert colleague.get(url).status_code == 200


def test_save_index__public_seen_by_anonymous(app, data, accounts):
    owner = app.test_client()
    login(owner, "bea")
    url = _save(owner, data, name="shared").headers["Location"]
    resp = app.test_client().get(url)
    assert resp.status_code == 200 and "shared" in resp.text
    assert "Delete this index" not in resp.text


def test_delete_index__owner_or_admin_only(app, data, accounts):
    owner = app.test_client()
    login(owner, "bea")
    url = _save(owner, data, name="to delete").headers["Location"]
    colleague = app.test_client()
    login(colleague, "bio")
    token = csrf_token(colleague, url)
    assert colleague.post(url + "/delete", data={"csrf_token": token}).status_code == 403
    stranger = app.test_client()
    login(stranger, "chen")
    restricted = _save(owner, data, name="secret", visibility="restricted").headers["Location"]
    token = csrf_token(stranger, "/predictions/index")
    assert stranger.post(restricted + "/delete", data={"csrf_token": token}).status_code == 404
    token = csrf_token(owner, url)
    resp = owner.post(url + "/delete", data={"csrf_token": token})
    assert resp.status_code == 302
    assert owner.get(url).status_code == 404
    admin = app.test_client()
    login(admin, "admin")
    token = csrf_token(admin, restricted)
    assert admin.post(restricted + "/delete", data={"csrf_token": token}).status_code == 302
    assert admin.get(restricted).status_code == 404


def test_save_index__csrf_required(client, data, accounts):
    login(client, "bea")
    resp = client.post(
        "/predictions/index/save",
        data={"name": "x", "run": str(data.run_id), "weight.GrainYield_t_ha": "1"},
    )
    assert resp.status_code == 400


def test_save_index__anonymous_redirected_to_login(client, data):
    resp = _save(client, data)
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"name": ""}, 400),
        ({"name": "x" * 300}, 400),
        ({"visibility": "secret"}, 400),
        ({"weight.GrainYield_t_ha": "", "weight.DaysToHeading_d": ""}, 400),
        ({"weight.GrainYield_t_ha": "abc"}, 400),
        ({"proportion": "2"}, 400),
        ({"run": "2147483647"}, 404),
    ],
)
def test_save_index__bad_form_refused(client, data, accounts, fields, status):
    login(client, "bea")
    assert _save(client, data, **fields).status_code == status


def test_save_index__restricted_run_of_another_institute_404(client, data, accounts):
    login(client, "bea")
    assert _save(client, data, run=str(data.secret_run_id)).status_code == 404


def test_index_page__ticked_candidates_go_into_a_list(client, data, accounts):
    query = {"weight.GrainYield_t_ha": "1", "page_size": 100}
    assert 'name="accession"' not in _index(client, run=data.run_id, **query).text
    login(client, "bea")
    html = _index(client, run=data.run_id, **query).text
    form = html.split('action="/lists/add"', 1)[1].split("</form>", 1)[0]
    ticks = re.findall(r'name="accession" value="(\d+)"', form)
    assert len(ticks) == len(_order(html)) and int(ticks[0]) in data.accession_ids
    top = ticks[:3]
    resp = client.post(
        "/lists/add",
        data={"csrf_token": csrf_token(client, "/lists"), "name": "Index top 3", "accession": top},
    )
    assert resp.status_code == 302
    assert client.get("/lists").text.count("Index top 3") >= 1
