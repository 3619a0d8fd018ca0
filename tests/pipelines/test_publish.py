"""The one fit-and-publish path: the fit every caller shares, and the model run it registers."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from breedhub.germplasm.db import transaction
from breedhub.germplasm.model_runs import model_runs_named
from breedhub.germplasm.models import Prediction
from breedhub.pipelines.exceptions import PipelineError
from breedhub.pipelines.publish import fit_and_publish, fit_trait, save_fit
from breedhub.predict.persist import load_model


def _population(ploidy: int, n: int = 90, m: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.1, 0.9, m)
    X = rng.binomial(ploidy, freq, size=(n, m)).astype(np.float64)
    y = X @ rng.normal(0, 0.1, m) + rng.normal(0, 1, n)
    y[:15] = np.nan  # candidates without a phenotype
    return X, y, [f"s{i}" for i in range(n)]


@pytest.mark.parametrize("ploidy", [2, 4, 6])
@pytest.mark.parametrize("method", ["gblup", "rrblup"])
def test_fit_trait__saved_model_reproduces_published_gebvs(ploidy, method, tmp_path):
    X, y, ids = _population(ploidy)
    fit = fit_trait(X, y, ploidy=ploidy, sample_id=ids, trait="yield", method=method)
    assert fit.gebv.shape == (90,) and fit.n_phenotyped == 75 and 0 < fit.info["h2"] < 1
    # unphenotyped candidates get reliabilities too, lower on average than the phenotyped
    assert np.all((fit.reliability >= 0) & (fit.reliability <= 1))
    assert fit.reliability[:15].mean() < fit.reliability[15:].mean()
    path = save_fit(
        fit, tmp_path / "m.npz", command="test", marker_ids=[f"m{j}" for j in range(400)]
    )
    model = load_model(path)
    np.testing.assert_allclose(model.predict(X), fit.gebv, atol=1e-5)
    assert model.ploidy == ploidy
    assert model.info_["provenance"]["extra"]["trait"] == "yield"


def test_fit_trait__other_methods_predict_every_sample():
    X, y, ids = _population(4)
    fit = fit_trait(X, y, ploidy=4, sample_id=ids, trait="yield", method="rkhs")
    assert fit.reliability is None and np.isfinite(fit.gebv).all() and fit.gebv.shape == (90,)


def test_fit_trait__bad_input_is_named():
    X, y, ids = _population(2)
    with pytest.raises(PipelineError, match="do not match"):
        fit_trait(X, y[:-1], ploidy=2, sample_id=ids, trait="yield")
    with pytest.raises(PipelineError, match="1 phenotyped samples"):
        fit_trait(X, np.r_[1.0, np.full(89, np.nan)], ploidy=2, sample_id=ids, trait="yield")
    with pytest.raises(TypeError, match="ploidy is required"):
        fit_trait(X, y, ploidy=None, sample_id=ids, trait="yield")  # type: ignore[arg-type]


def test_fit_and_publish__registers_ranked_gebvs_with_reliabilities(engine, predict_setup):
    from breedhub.germplasm.models import ObservationVariable

    run = fit_and_publish(engine, dataset="rice-gbs", name="rice gblup", cv_folds=4, seed=1)
    assert run["model_run_id"] is not None and run["traits"]
    for t in run["traits"].values():
        assert 0 <= t["h2"] <= 1 and -1 <= t["cv_mean_r"] <= 1
    with transaction(engine) as s:
        (mr,) = model_runs_named(s, "rice gblup")
        assert mr.provenance["command"] == "breedhub.pipelines.publish.fit_and_publish"
        assert mr.provenance["inputs"][0]["sha256"]
        names = {v.id: v.name for v in s.scalars(select(ObservationVariable))}
        preds = s.scalars(select(Prediction).where(Prediction.model_run_id == mr.id)).all()
        metrics = mr.metrics
    # the registry's breeding goals: yield up, heading earlier, height near 100 cm
    assert metrics["GrainYield_t_ha"]["direction"] == "higher"
    assert metrics["DaysToHeading_d"]["direction"] == "lower"
    assert (metrics["PlantHeight_cm"]["direction"], metrics["PlantHeight_cm"]["optimum"]) == (
        "optimum",
        100,
    )
    for trait, m in metrics.items():
        rows = sorted((p for p in preds if names[p.variable_id] == trait), key=lambda p: p.rank)
        assert len(rows) == 40 == m["n_ranked"]  # every genotyped accession, phenotyped or not
        assert [p.rank for p in rows] == list(range(1, 41))
        assert all(p.reliability is not None for p in rows)
        gebv = np.array([p.gebv for p in rows])
        if m["direction"] == "higher":
            assert np.all(np.diff(gebv) <= 0), trait
        elif m["direction"] == "lower":
            assert np.all(np.diff(gebv) >= 0), trait
        else:  # nearest the optimum first, on the trait's scale (mean + GEBV)
            distance = np.abs(m["phenotype_mean"] + gebv - m["optimum"])
            assert np.all(np.diff(distance) >= 0), trait


def test_fit_and_publish__unknown_dataset_or_trait_is_named(engine, predict_setup):
    from breedhub.germplasm.exceptions import NotFoundError

    with pytest.raises(NotFoundError, match="no genotype dataset named 'nope'"):
        fit_and_publish(engine, dataset="nope", name="x")
    with pytest.raises(PipelineError, match="NoSuchTrait: 0 phenotyped accessions"):
        fit_and_publish(engine, dataset="rice-gbs", name="x", traits=["NoSuchTrait"])
    with transaction(engine) as s:
        assert model_runs_named(s, "x") == []  # nothing half-registered


def test_publish_model_run__a_failed_rerun_keeps_the_earlier_run(engine, home, predict_setup):
    from breedhub.genomics import read_dosages
    from breedhub.germplasm.exceptions import NotFoundError
    from breedhub.pipelines.publish import publish_model_run

    fit_and_publish(engine, dataset="rice-gbs", name="rerun", cv_folds=4)
    with transaction(engine) as s:
        (first,) = model_runs_named(s, "rerun")
        first.provenance = {**first.provenance, "run_dir": "/runs/predict-rerun"}
        first_id = first.id
    # the re-run's fit names a trait the database does not have: registering it fails
    store = read_dosages(home / "genotypes" / "rice-gbs.h5")
    y = np.random.default_rng(0).normal(size=store.n_samples)
    fit = fit_trait(
        store.dosage_matrix(missing="mean"), y, ploidy=2, sample_id=list(store.sample_id),
        trait="NoSuchTrait",
    )  # fmt: skip
    with pytest.raises(NotFoundError, match="NoSuchTrait"):
        publish_model_run(
            engine,
            name="rerun",
            dataset="rice-gbs",
            fits=[fit],
            replace_run_dir="/runs/predict-rerun",
        )
    with transaction(engine) as s:  # the earlier run is still there, whole
        assert [mr.id for mr in model_runs_named(s, "rerun")] == [first_id]
