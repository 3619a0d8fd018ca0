"""The cross planner: progeny means, variances, usefulness, kinship and the plan, on a real HDF5 store."""

from __future__ import annotations

import csv
import io
import time

import numpy as np
import pytest

from breedhub.germplasm import transaction
from breedhub.germplasm.models import ModelRun, SelectionList, SelectionListItem
from breedhub.predict.crosses import progeny_variance
from breedhub.predict.index import selection_intensity
from breedhub.web.db import get_engine
from tests.web._lists_data import add_cross_run
from tests.web.conftest import login

RICE_CM_PER_MB = 100.0 * 12 / 374  # one Morgan per chromosome over the 374 Mb assembly


@pytest.fixture
def data(app, world, tmp_path):
    return add_cross_run(app, tmp_path)


def _plan(client, **params):
    return client.get("/crosses", query_string=params)


def _csv(resp) -> list[dict[str, str]]:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    lines = [x for x in resp.get_data(as_text=True).splitlines() if not x.startswith("# ")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def _gebv(data, trait: str) -> dict[int, float]:
    return dict(zip(data.accession_ids, data.gebv[trait], strict=True))


def test_planner__predicted_mean_is_the_mid_parent_gebv(client, data):
    parents = data.accession_ids[:8]
    rows = _csv(_plan(client, run=data.run_id, trait="GrainYield_t_ha", parents=parents,
                      format="csv"))  # fmt: skip
    assert len(rows) == 28
    g = _gebv(data, "GrainYield_t_ha")
    for r in rows:
        expected = (g[int(r["parent1_id"])] + g[int(r["parent2_id"])]) / 2
        assert float(r["mean"]) == pytest.approx(expected, abs=1e-9)


def test_planner__variance_is_predict_crosses_on_back_solved_effects(client, data):
    """CX-01 x CX-02 (homozygous, opposite everywhere): DH variance of beta = Z'(ZZ')^+ g."""
    a, b = data.accession_ids[:2]
    rows = _csv(_plan(client, run=data.run_id, trait="GrainYield_t_ha", parents=[a, b],
                      format="csv"))  # fmt: skip
    Z = np.where(data.dosage >= 0, data.dosage - data.centre, 0.0)
    beta = Z.T @ np.linalg.pinv(Z @ Z.T) @ data.gebv["GrainYield_t_ha"]
    expected = progeny_variance(
        data.dosage[0], data.dosage[1], beta, data.chrom, data.pos / 1e6 * RICE_CM_PER_MB,
        population="DH", ploidy=2,
    )  # fmt: skip
    assert float(rows[0]["variance"]) == pytest.approx(expected, rel=1e-6)
    i = selection_intensity(0.1)
    assert float(rows[0]["usefulness"]) == pytest.approx(
        float(rows[0]["mean"]) + i * np.sqrt(expected), rel=1e-6
    )


def test_planner__sorted_by_usefulness_in_the_breeding_direction(client, data):
    parents = data.accession_ids
    up = _csv(_plan(client, run=data.run_id, trait="GrainYield_t_ha", parents=parents,
                    format="csv"))  # fmt: skip
    uc = [float(r["usefulness"]) for r in up]
    assert uc == sorted(uc, reverse=True)
    down = _csv(_plan(client, run=data.run_id, trait="DaysToHeading_d", parents=parents,
                      format="csv"))  # fmt: skip
    uc = [float(r["usefulness"]) for r in down]
    assert uc == sorted(uc)
    # lower is better: usefulness is mean - i * sd
    i = selection_intensity(0.1)
    r = down[0]
    assert float(r["usefulness"]) == pytest.approx(float(r["mean"]) - i * float(r["sd"]))


def test_planner__plan_respects_max_use_kinship_and_size(client, data):
    rows = _csv(_plan(client, run=data.run_id, trait="GrainYield_t_ha",
                      parents=data.accession_ids, max_use=1, n_crosses=4, format="csv"))  # fmt: skip
    plan = [r for r in rows if r["in_plan"]]
    assert len(plan) == 4
    used = [r["parent1_id"] for r in plan] + [r["parent2_id"] for r in plan]
    assert len(used) == len(set(used))
    # greedy: the first pair of the plan is the best pair overall
    assert min(plan, key=lambda r: int(r["in_plan"]))["rank"] == "1"
    rows = _csv(_plan(client, run=data.run_id, trait="GrainYield_t_ha",
                      parents=data.accession_ids, max_kinship=0.0, n_crosses=500,
                      format="csv"))  # fmt: skip
    plan = [r for r in rows if r["in_plan"]]
    assert plan and all(float(r["kinship"]) <= 0.0 for r in plan)
    assert len(plan) == sum(float(r["kinship"]) <= 0.0 for r in rows)


def test_planner__kinship_is_vanraden_g_on_the_dataset_frequencies(client, data):
    parents = data.accession_ids[:5]
    rows = _csv(_plan(client, run=data.run_id, trait="GrainYield_t_ha", parents=parents,
                      format="csv"))  # fmt: skip
    X = np.where(data.dosage >= 0, data.dosage, data.centre)[:5]
    p = data.centre / 2
    G = (X - 2 * p) @ (X - 2 * p).T / (2 * np.sum(p * (1 - p)))
    at = {a: k for k, a in enumerate(parents)}
    for r in rows:
        i, j = at[int(r["parent1_id"])], at[int(r["parent2_id"])]
        assert float(r["kinship"]) == pytest.approx(G[i, j], abs=1e-9)


def test_planner__index_of_weighted_traits(client, data):
    parents = data.accession_ids[:6]
    rows = _csv(_plan(client, run=data.run_id, parents=parents, format="csv",
                      **{"weight.GrainYield_t_ha": "2", "weight.DaysToHeading_d": "0.5"}))  # fmt: skip
    index = 2 * data.gebv["GrainYield_t_ha"] - 0.5 * data.gebv["DaysToHeading_d"]
    g = dict(zip(data.accession_ids, index, strict=True))
    for r in rows:
        assert float(r["mean"]) == pytest.approx(
            (g[int(r["parent1_id"])] + g[int(r["parent2_id"])]) / 2, abs=1e-9
        )


def test_planner__top_n_and_list_parents(app, client, data, accounts):
    rows = _csv(_plan(client, run=data.run_id, trait="DaysToHeading_d", n=4, format="csv"))
    chosen = {int(r[k]) for r in rows for k in ("parent1_id", "parent2_id")}
    best = np.argsort(data.gebv["DaysToHeading_d"])[:4]
    assert chosen == {data.accession_ids[k] for k in best}
    with transaction(get_engine(app)) as s:
        lst = SelectionList(name="block", owner_id=accounts.ids["bea"], visibility="public")
        s.add(lst)
        s.flush()
        for k, a in enumerate(data.accession_ids[:3]):
            s.add(SelectionListItem(list_id=lst.id, accession_id=a, position=k))
        list_id = lst.id
    rows = _csv(_plan(client, run=data.run_id, list=list_id, format="csv"))
    assert len(rows) == 3
    page = _plan(client, run=data.run_id, list=list_id)
    assert page.status_code == 200 and "Crossing plan" in page.text


def test_planner__50_parents_give_1225_pairs(app, client, world, tmp_path):
    big = add_cross_run(app, tmp_path, n=50, m=300, seed=11, store_name="rice-50.h5")
    params = dict(run=big.run_id, trait="GrainYield_t_ha", parents=big.accession_ids)
    assert _plan(client, **params).status_code == 200  # warm: effects back-solved and cached
    start = time.perf_counter()
    resp = _plan(client, **params)
    seconds = time.perf_counter() - start
    assert resp.status_code == 200 and "1,225" in resp.text
    assert seconds < 5.0  # the goal is 1 s on 2 cores (bench/portal.py); tests run anywhere
    assert len(_csv(_plan(client, **params, format="csv"))) == 1225


def test_planner__missing_store_is_a_message(client, data, world):
    data.store.unlink()
    resp = _plan(client, run=data.run_id, parents=data.accession_ids[:3])
    assert resp.status_code == 200
    assert "genotype store" in resp.text and "missing" in resp.text
    resp = _plan(client, run=1, parents=[world.ir64, world.azucena])  # world's store never was
    assert resp.status_code == 200 and "missing" in resp.text
    assert _plan(client, run=data.run_id, parents=data.accession_ids[:3],
                 format="csv").status_code == 400  # fmt: skip


def test_planner__run_without_dataset_is_a_message(app, client, data):
    with transaction(get_engine(app)) as s:
        s.get(ModelRun, data.run_id).genotype_dataset_id = None
    resp = _plan(client, run=data.run_id, parents=data.accession_ids[:3])
    assert resp.status_code == 200 and "has no genotype dataset" in resp.text


@pytest.mark.parametrize(
    "params",
    [
        {"n_crosses": "0"},
        {"max_use": "-1"},
        {"max_use": "²"},
        {"proportion": "1.5"},
        {"max_kinship": "NaN"},
        {"population": "BC1"},
        {"parents": "abc"},
        {"n": "1"},
        {"list": "99999"},
        {"trait": "NoSuchTrait"},
        {"weight": "PlantHeight_cm:1"},
        {"format": "pdf"},
    ],
)
def test_planner__bad_parameters_are_400(client, data, params):
    base = {"run": data.run_id, "parents": data.accession_ids[:3]}
    base.update(params)
    resp = _plan(client, **base)
    assert resp.status_code == 400, resp.text[:300]


def test_planner__parent_not_genotyped_is_400_naming_it(client, data, world):
    resp = _plan(client, run=data.run_id, parents=[data.accession_ids[0], world.nipponbare])
    assert resp.status_code == 400 and "IRGC 12731" in resp.text


def test_planner__restricted_run_of_another_institute_is_404(app, client, data, accounts):
    with transaction(get_engine(app)) as s:
        run = s.get(ModelRun, data.run_id)
        run.visibility = "restricted"
    assert _plan(client, run=data.run_id).status_code == 404
    login(client, "chen")
    assert _plan(client, run=data.run_id).status_code == 404
    client.get("/logout")
    login(client, "bea")
    assert _plan(client, run=data.run_id, parents=data.accession_ids[:2]).status_code == 200


def test_planner__form_without_choices(client, world):
    resp = client.get("/crosses")
    assert resp.status_code == 200 and "Cross planner" in resp.text
    resp = client.get("/crosses", query_string={"species": "rice"})
    assert resp.status_code == 200


def test_planner__outbred_species_plans_f1_progeny_and_says_why(app, client, world, tmp_path):
    """Pig lines are not inbred: the cross's own progeny, variance from the parents' gametes."""
    pig = add_cross_run(app, tmp_path, n=6, m=40, seed=5, store_name="pig.h5", species="pig")
    parents = pig.accession_ids[2:6]
    page = _plan(client, run=pig.run_id, trait="GrainYield_t_ha", parents=parents)
    assert page.status_code == 200 and "lines are not inbred" in page.text
    rows = _csv(_plan(client, run=pig.run_id, trait="GrainYield_t_ha", parents=parents,
                      format="csv"))  # fmt: skip
    Z = np.where(pig.dosage >= 0, pig.dosage - pig.centre, 0.0)
    beta = Z.T @ np.linalg.pinv(Z @ Z.T) @ pig.gebv["GrainYield_t_ha"]
    X = np.where(pig.dosage >= 0, pig.dosage, pig.centre)
    gametic = ((X / 2) * (1 - X / 2)) @ (beta**2)  # 1/4 beta² at each heterozygous marker
    at = {a: k for k, a in enumerate(pig.accession_ids)}
    for r in rows:
        i, j = at[int(r["parent1_id"])], at[int(r["parent2_id"])]
        assert float(r["variance"]) == pytest.approx(gametic[i] + gametic[j], rel=1e-9)
    dh = _plan(client, run=pig.run_id, trait="GrainYield_t_ha", parents=parents, population="DH")
    assert dh.status_code == 200 and "not segregating" in dh.text
