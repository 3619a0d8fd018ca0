"""Tests of germplasm/model_runs.py: recording, finding and removing model runs."""

import pytest
from sqlalchemy import func, select

from breedhub.germplasm import NotFoundError, transaction
from breedhub.germplasm.model_runs import add_model_run, delete_model_runs, model_runs_named
from breedhub.germplasm.models import Prediction
from breedhub.germplasm.passport import import_passport
from tests.conftest import DATA


@pytest.fixture
def stocked(engine, registry):
    import_passport(engine, DATA / "mcpd_valid.csv", registry=registry)
    return engine


def _add(engine, name="run", **kw):
    with transaction(engine) as s:
        return add_model_run(
            s, name=name, method="gblup", species="rice",
            predictions={"GrainYield_t_ha": [(1, 0.5, 0.6, 2), (3, 0.9, None, 1)]}, **kw,
        )  # fmt: skip


def _n_predictions(engine):
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(Prediction))


def test_add_model_run__stores_the_predictions(stocked):
    run = _add(stocked, metrics={"GrainYield_t_ha": {"cv_mean_r": 0.4}})
    with transaction(stocked) as s:
        got = s.execute(
            select(
                Prediction.accession_id, Prediction.gebv, Prediction.reliability, Prediction.rank
            )
            .where(Prediction.model_run_id == run)
            .order_by(Prediction.rank)
        ).all()
        assert [tuple(r) for r in got] == [(3, 0.9, None, 1), (1, 0.5, 0.6, 2)]
        assert [r.metrics for r in model_runs_named(s, "run")] == [
            {"GrainYield_t_ha": {"cv_mean_r": 0.4}}
        ]


def test_add_model_run__unknown_species_or_variable(stocked):
    with pytest.raises(NotFoundError, match="unknown species"), transaction(stocked) as s:
        add_model_run(s, name="r", method="m", species="unicorn", predictions={})
    with pytest.raises(NotFoundError, match="unknown observation variables: Nope"):
        with transaction(stocked) as s:
            add_model_run(s, name="r", method="m", species="rice", predictions={"Nope": []})
    assert _n_predictions(stocked) == 0


def test_delete_model_runs__removes_runs_and_predictions(stocked):
    keep, drop = _add(stocked, name="keep"), _add(stocked, name="drop")
    with transaction(stocked) as s:
        delete_model_runs(s, [drop])
        delete_model_runs(s, [])
    with transaction(stocked) as s:
        assert model_runs_named(s, "drop") == [] and [
            r.id for r in model_runs_named(s, "keep")
        ] == [keep]
    assert _n_predictions(stocked) == 2
