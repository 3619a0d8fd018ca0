"""Tests of predict.rkhs: Gaussian kernels at bandwidths scaled to the data, kernel averaging as BGLR."""

from __future__ import annotations

import json

import numpy as np
import pytest

from breedhub.predict.exceptions import InputError
from breedhub.predict.methods import effective_params
from breedhub.predict.persist import load_model, save_model
from breedhub.predict.rkhs import RKHS, distance_scale, squared_distances

SHORT = {"n_iter": 400, "burn_in": 100}


def simulate(seed=0, n=160, m=200):
    """0/1/2 dosages, a non-additive genetic value and phenotypes with noise."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, size=(n, m))
    g = np.sin(X[:, :20].sum(axis=1) / 5.0) + 0.3 * (X[:, 20] == 1)
    y = g + rng.normal(scale=0.3, size=n)
    return X, y, g


@pytest.fixture(scope="module")
def data():
    return simulate()


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _ = data
    return RKHS(**SHORT).fit(X[:120], y[:120], ploidy=2)


def test_rkhs__predicts_held_out_genetic_values(data, fitted):
    X, _, g = data
    r = np.corrcoef(fitted.predict(X[120:]), g[120:])[0, 1]
    assert r > 0.35


def test_rkhs__kernel_weights_sum_to_one(fitted):
    w = fitted.info_["kernel_weights"]
    assert len(w) == 3 and all(v > 0 for v in w)
    assert sum(w) == pytest.approx(1.0)
    assert len(fitted.info_["kernel_variances"]) == 3
    assert 0 < fitted.info_["h2"] < 1


@pytest.mark.parametrize("weights", ["bayes", "reml", "equal"])
def test_rkhs__same_predictions_when_markers_rescaled_or_recoded(data, weights):
    # Bandwidths are relative to the data's distances: dosages doubled, or every
    # allele counted from the other end (2 - x), give the same kernels.
    X, y, _ = data
    opts = {**SHORT, "weights": weights}
    base = RKHS(**opts).fit(X[:120], y[:120], ploidy=2).predict(X[120:])
    doubled = RKHS(**opts).fit(2 * X[:120], y[:120], ploidy=4).predict(2 * X[120:])
    recoded = RKHS(**opts).fit(2 - X[:120], y[:120], ploidy=2).predict(2 - X[120:])
    np.testing.assert_allclose(doubled, base, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(recoded, base, rtol=1e-4, atol=1e-6)


def test_rkhs__bandwidth_scale_is_the_median_distance(data, fitted):
    X, _, _ = data
    D = squared_distances(X[:120].astype(np.float64))
    assert fitted.scale_ == pytest.approx(np.median(D[~np.eye(120, dtype=bool)]))
    mean = RKHS(scale="mean", weights="equal").fit(X[:120], data[1][:120], ploidy=2)
    assert mean.scale_ == pytest.approx(D.sum() / (120 * 119))
    assert distance_scale(np.zeros((1, 1))) == 1.0


def test_rkhs__same_seed_same_predictions(data):
    X, y, _ = data
    a = RKHS(seed=3, **SHORT).fit(X[:80], y[:80], ploidy=2).predict(X[80:])
    b = RKHS(seed=3, **SHORT).fit(X[:80], y[:80], ploidy=2).predict(X[80:])
    c = RKHS(seed=4, **SHORT).fit(X[:80], y[:80], ploidy=2).predict(X[80:])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_rkhs__one_kernel_keeps_the_best_bandwidth_by_reml(data):
    X, y, _ = data
    one = RKHS(kernels=1, weights="reml").fit(X[:120], y[:120], ploidy=2)
    assert len(one.bandwidths_) == 1 and one.bandwidths_[0] in (0.2, 1.0, 5.0)
    assert one.info_["kernel_weights"] == [1.0]
    # it is the bandwidth whose kernel alone has the highest REML likelihood
    logliks = {
        h: RKHS(bandwidths=(h,), weights="reml").fit(X[:120], y[:120], ploidy=2).info_["loglik"]
        for h in (0.2, 1.0, 5.0)
    }
    assert one.bandwidths_[0] == max(logliks, key=logliks.get)
    assert effective_params(one)["bandwidths"] == one.bandwidths_


def test_rkhs__reml_weights_on_the_grid(data):
    X, y, _ = data
    m = RKHS(weights="reml", grid_step=0.5).fit(X[:120], y[:120], ploidy=2)
    w = m.info_["kernel_weights"]
    assert sum(w) == pytest.approx(1.0) and all(v in (0.0, 0.5, 1.0) for v in w)


def test_rkhs__effective_params_reported(fitted):
    eff = fitted.effective_params()
    assert eff["bandwidths"] == [0.2, 1.0, 5.0] and eff["kernels"] == 3
    assert sum(eff["kernel_weights"]) == pytest.approx(1.0, abs=1e-5)
    assert eff["distance_scale"] == fitted.scale_
    assert (eff["n_iter"], eff["burn_in"], eff["seed"]) == (400, 100, 0)
    assert eff["weights"] == "bayes" and eff["scale"] == "median"
    json.dumps(eff, allow_nan=False)


def test_rkhs__save_and_load_predict_the_same(data, fitted, tmp_path):
    X, _, _ = data
    path = save_model(fitted, tmp_path / "rkhs.npz")
    again = load_model(path)
    np.testing.assert_allclose(again.predict(X[120:]), fitted.predict(X[120:]), rtol=1e-6)


def test_rkhs__loads_a_file_of_the_single_alpha_format(data):
    # Files written before per-kernel coefficients kept one alpha for sum_k w_k K_k.
    X, y, _ = data
    m = RKHS(weights="reml").fit(X[:120], y[:120], ploidy=2)
    w = m.kernel_weights_
    j = int(np.argmax(w))
    state = {**m.state(), "alpha": m.alpha_[j] / w[j]}
    del state["bandwidths"]
    old = RKHS.from_state(m.params, state)
    old.ploidy = 2
    np.testing.assert_allclose(old.predict(X[120:]), m.predict(X[120:]), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bandwidths": [-1]}, "bandwidths"),
        ({"bandwidths": ["a"]}, "bandwidths"),
        ({"scale": "max"}, "scale"),
        ({"weights": "ml"}, "weights"),
        ({"kernels": 4}, "kernels=4"),
        ({"grid_step": 0.3}, "grid_step"),
        ({"n_iter": 10, "burn_in": 10}, "burn_in"),
    ],
)
def test_rkhs__bad_options(kwargs, match):
    with pytest.raises(InputError, match=match):
        RKHS(**kwargs)


def test_rkhs__identical_genotypes_refused():
    X = np.ones((10, 5), dtype=int)
    with pytest.raises(InputError, match="identical"):
        RKHS().fit(X, np.arange(10.0), ploidy=2)
