"""Tests of predict.bayes: BayesB, BayesCπ and the Bayesian LASSO by Gibbs sampling.

Short chains on small simulated data; the accuracies checked here are loose
bounds (the published comparisons belong in bench/ and validation/).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("numba")

from breedhub.predict.bayes import (  # noqa: E402
    BayesB,
    BayesCPi,
    BayesianLasso,
    effective_sample_size,
    geweke_z,
)
from breedhub.predict.exceptions import InputError  # noqa: E402
from breedhub.predict.persist import save_model  # noqa: E402

MODELS = [BayesB, BayesCPi, BayesianLasso]
SHORT = {"n_iter": 1500, "burn_in": 500, "thin": 2}


def simulate(seed=1, n=300, m=500, n_qtl=10, h2=0.5, ploidy=2):
    """Dosages, phenotypes with heritability h2, true genetic values and QTL indexes."""
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.1, 0.9, m)
    X = rng.binomial(ploidy, freq, size=(n, m)).astype(np.int8)
    qtl = rng.choice(m, n_qtl, replace=False)
    beta = np.zeros(m)
    beta[qtl] = rng.normal(size=n_qtl)
    g = (X - X.mean(axis=0)) @ beta
    y = g + rng.normal(scale=np.sqrt(g.var() * (1 - h2) / h2), size=n)
    return X, y, g, qtl


def ridge_accuracy(X, y, g, train, test):
    """rrBLUP with the variance ratio of h2 = 0.5, as the yardstick."""
    mu = X[train].mean(axis=0)
    Xc = X[train] - mu
    lam = Xc.var(axis=0).sum()
    beta = np.linalg.solve(
        Xc.T @ Xc + lam * np.eye(X.shape[1]), Xc.T @ (y[train] - y[train].mean())
    )
    return np.corrcoef((X[test] - mu) @ beta, g[test])[0, 1]


@pytest.fixture(scope="module")
def data():
    return simulate()


@pytest.fixture(scope="module")
def fitted(data):
    """Each model fitted once on the first 200 samples."""
    X, y, _, _ = data
    return {cls: cls(**SHORT).fit(X[:200], y[:200], ploidy=2) for cls in MODELS}


@pytest.mark.parametrize("cls", MODELS)
def test_bayes_regression__same_seed_same_effects(cls, data):
    X, y, _, _ = data
    kw = {"n_iter": 60, "burn_in": 20, "thin": 2}
    a = cls(seed=7, **kw).fit(X[:100], y[:100], ploidy=2)
    b = cls(seed=7, **kw).fit(X[:100], y[:100], ploidy=2)
    c = cls(seed=8, **kw).fit(X[:100], y[:100], ploidy=2)
    np.testing.assert_array_equal(a.effect_, b.effect_)
    assert a.info_["residual_variance"] == b.info_["residual_variance"]
    assert not np.array_equal(a.effect_, c.effect_)


@pytest.mark.parametrize("cls", MODELS)
def test_bayes_regression__accurate_as_ridge_on_held_out(cls, data, fitted):
    X, y, g, _ = data
    test = slice(200, 300)
    gebv = fitted[cls].predict(X[test])
    assert gebv.dtype == np.float64 and gebv.shape == (100,)
    r = np.corrcoef(gebv, g[test])[0, 1]
    assert r > 0.5
    assert r > ridge_accuracy(X, y, g, slice(0, 200), test) - 0.1


@pytest.mark.parametrize("cls", MODELS)
def test_bayes_regression__variances_near_truth(cls, data, fitted):
    _, y, g, _ = data
    info = fitted[cls].info_
    assert info["genetic_variance"]["mean"] == pytest.approx(g[:200].var(), rel=0.5)
    assert info["residual_variance"]["mean"] == pytest.approx((y - g)[:200].var(), rel=0.5)
    assert 0.2 < info["heritability"]["mean"] < 0.8


def test_bayescpi__pi_high_when_few_markers_are_qtl(fitted):
    info = fitted[BayesCPi].info_
    assert info["pi"]["mean"] > 0.8
    assert info["n_included"]["mean"] < 100


def test_bayesb__largest_effects_on_qtl(data, fitted):
    _, _, _, qtl = data
    model = fitted[BayesB]
    top = np.argsort(-np.abs(model.effect_))[:5]
    assert set(top[:3]) <= set(qtl)
    assert len(set(top) & set(qtl)) >= 4
    assert model.inclusion_ is not None
    assert model.inclusion_[top[:3]].min() > 0.5
    others = np.setdiff1d(np.arange(500), qtl)
    assert np.median(model.inclusion_[others]) < 0.1


@pytest.mark.parametrize("cls", MODELS)
def test_bayes_regression__fixed_effects_absorbed(cls, data):
    X, y, g, _ = data
    rng = np.random.default_rng(3)
    site = rng.integers(0, 2, size=300).astype(float)
    y_site = y + 25.0 * site
    model = cls(**SHORT).fit(X[:200], y_site[:200], fixed=site[:200], ploidy=2)
    assert model.info_["fixed_effects"][1] == pytest.approx(25.0, abs=1.5)
    r = np.corrcoef(model.predict(X[200:]), g[200:])[0, 1]
    assert r > 0.5
    assert model.info_["residual_variance"]["mean"] < 2 * (y - g)[:200].var()


@pytest.mark.parametrize("cls", [BayesB, BayesCPi])
def test_bayes_regression__degenerate_prior_gives_ridge(cls):
    # Fixed variances (df -> infinity) and every marker in the model: the posterior mean
    # of the effects is the ridge solution with lambda = s2e / s2b (Henderson's equations).
    rng = np.random.default_rng(5)
    X = rng.binomial(2, 0.5, size=(80, 12)).astype(np.int8)
    y = X[:, :3] @ np.array([1.0, -1.0, 0.5]) + rng.normal(size=80)
    s2e, s2b, big = 1.0, 0.25, 1e7
    opts = {"df_b": big, "scale_b": s2b * (big + 2), "df_e": big, "scale_e": s2e * (big + 2)}
    if cls is BayesCPi:
        opts.update(pi=1e-6, pi_prior=(1.0, 1e8))
    else:
        opts.update(pi=1e-6)
    model = cls(n_iter=6000, burn_in=500, thin=1, **opts).fit(X, y, ploidy=2)
    Xc = X - X.mean(axis=0)
    ridge = np.linalg.solve(Xc.T @ Xc + s2e / s2b * np.eye(12), Xc.T @ (y - y.mean()))
    np.testing.assert_allclose(model.effect_, ridge, atol=0.03)
    assert model.info_["residual_variance"]["mean"] == pytest.approx(s2e, rel=1e-2)
    assert model.inclusion_.min() > 0.999


@pytest.mark.parametrize("cls", MODELS)
def test_bayes_regression__diagnostics_in_info(cls, fitted):
    info = fitted[cls].info_
    json.dumps(info, allow_nan=False)
    assert len(json.dumps(info)) < 20_000
    for name in ("residual_variance", "genetic_variance"):
        diag = info["diagnostics"][name]
        assert np.isfinite(diag["geweke_z"])
        assert 1 < diag["ess"] <= 2 * info["n_samples"]
        assert 1 < len(info["trace"][name]) <= 100
    assert info["n_samples"] == (1500 - 500) // 2
    assert info["n_train"] == 200 and info["n_markers"] == 500
    assert info["prior"]["r2"] == 0.5


@pytest.mark.parametrize("cls", MODELS)
def test_bayes_regression__state_round_trip(cls, data, fitted, tmp_path):
    X, _, _, _ = data
    model = fitted[cls]
    again = cls.from_state(model.params, model.state())
    again.ploidy = model.ploidy  # load_model restores it from the file
    np.testing.assert_array_equal(again.predict(X[200:]), model.predict(X[200:]))
    # through the file: parameters pass through JSON, arrays through .npz
    path = save_model(model, tmp_path / "model.npz")
    with np.load(path) as z:
        params = json.loads(str(z["__meta__"]))["params"]
        state = {k: z[k] for k in z.files if k != "__meta__"}
    loaded = cls.from_state(params, state)
    loaded.ploidy = 2
    np.testing.assert_array_equal(loaded.predict(X[200:]), model.predict(X[200:]))
    assert loaded.params == model.params


@pytest.mark.parametrize("cls", [BayesB, BayesCPi])
def test_spike_slab__estimated_pi_moves_toward_the_truth(cls):
    # BGLR's default: pi unknown with a Beta(6, 6) prior, started at 0.5. Five QTL
    # among 300 markers pull it up, every marker a QTL pulls it down.
    few = simulate(seed=3, n=200, m=300, n_qtl=5, h2=0.7)
    many = simulate(seed=3, n=200, m=300, n_qtl=300, h2=0.7)
    kw = {"n_iter": 1000, "burn_in": 300, "thin": 2}
    pi_few = cls(**kw).fit(few[0], few[1], ploidy=2).info_["pi"]["mean"]
    pi_many = cls(**kw).fit(many[0], many[1], ploidy=2).info_["pi"]["mean"]
    assert pi_few > 0.8
    assert pi_many < 0.6
    assert pi_few - pi_many > 0.3


@pytest.mark.parametrize("cls", [BayesB, BayesCPi])
def test_spike_slab__fixed_pi_is_honoured(cls, data):
    X, y, _, _ = data
    model = cls(pi=0.9, n_iter=200, burn_in=50, thin=2).fit(X[:150], y[:150], ploidy=2)
    eff = model.effective_params()
    assert eff["pi"] == 0.9 and eff["pi_estimated"] is False
    assert "pi" not in model.info_  # nothing sampled, nothing summarised
    assert model.info_["prior"]["pi"] == 0.9
    # the default scale follows the fixed pi: r2 V_y / (MSx (1 - pi)) (df_b + 2)
    prior = model.info_["prior"]
    expected = 0.5 * prior["phenotypic_variance"] / (prior["sum_marker_variance"] * 0.1) * 7
    assert prior["scale_b"] == pytest.approx(expected)


def test_bayesb__defaults_follow_bglr(data):
    X, y, _, _ = data
    model = BayesB(n_iter=200, burn_in=50, thin=2).fit(X[:150], y[:150], ploidy=2)
    eff = model.effective_params()
    assert eff["pi_estimated"] is True and eff["pi_start"] == 0.5
    assert (eff["pi_a"], eff["pi_b"]) == (6.0, 6.0)  # probIn 0.5, counts 10
    assert eff["pi"] == model.info_["pi"]["mean"] and 0 < eff["pi"] < 1
    assert eff["estimate_scale"] is True and eff["scale_shape"] == 1.1
    # the scale is sampled: its trace moves, its posterior mean is reported
    assert model.info_["marker_scale"]["sd"] > 0
    assert eff["scale_b"] == model.info_["marker_scale"]["mean"] != eff["scale_b_prior_mode"]
    assert (eff["n_iter"], eff["burn_in"], eff["thin"], eff["seed"]) == (200, 50, 2, 0)
    prior = model.info_["prior"]
    assert eff["scale_e"] == pytest.approx(0.5 * prior["phenotypic_variance"] * 7)
    json.dumps(eff, allow_nan=False)


def test_bayesb__fixed_scale_is_honoured(data):
    X, y, _, _ = data
    model = BayesB(estimate_scale=False, scale_b=0.01, n_iter=100, burn_in=20, thin=2)
    model.fit(X[:100], y[:100], ploidy=2)
    assert "marker_scale" not in model.info_
    assert model.effective_params()["scale_b"] == 0.01
    with pytest.raises(TypeError, match="estimate_scale"):
        BayesB(estimate_scale="yes")


def test_bayesb__hexaploid_dosages():
    X, y, g, _ = simulate(seed=2, n=250, m=300, ploidy=6)
    model = BayesB(**SHORT).fit(X[:180], y[:180], ploidy=6)
    assert np.corrcoef(model.predict(X[180:]), g[180:])[0, 1] > 0.5
    with pytest.raises(InputError, match="ploidy"):
        model.predict(np.full((2, 300), 7))


def test_bayesb__missing_phenotypes_skipped(data):
    X, y, _, _ = data
    y = y[:100].copy()
    y[::10] = np.nan
    model = BayesB(n_iter=40, burn_in=10, thin=2).fit(X[:100], y, ploidy=2)
    assert model.info_["n_train"] == 90
    assert np.isfinite(model.predict(X[:100])).all()


def test_bayesianlasso__monomorphic_markers_have_no_effect(data):
    X, y, _, _ = data
    X = X[:100].copy()
    X[:, [3, 40]] = 1
    model = BayesianLasso(n_iter=40, burn_in=10, thin=2).fit(X, y[:100], ploidy=2)
    assert model.effect_[[3, 40]].tolist() == [0.0, 0.0]
    assert model.info_["n_monomorphic"] == 2


@pytest.mark.slow
def test_bayescpi__fractional_dosages(data):
    # imputed expected dosages are not whole numbers: stored as float32, not int8
    X, y, g, _ = data
    Xf = X + np.random.default_rng(4).uniform(-0.2, 0.2, size=X.shape).clip(0, None)
    Xf = np.clip(Xf, 0, 2)
    model = BayesCPi(**SHORT).fit(Xf[:200], y[:200], ploidy=2)
    assert model.info_["genotype_storage"] == "float32"
    assert np.corrcoef(model.predict(Xf[200:]), g[200:])[0, 1] > 0.5


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_iter": 0}, ValueError, "n_iter"),
        ({"n_iter": 100, "burn_in": 100}, InputError, "fewer than 2 samples"),
        ({"n_iter": 2.5}, TypeError, "n_iter must be an integer"),
        ({"thin": 0}, ValueError, "thin"),
        ({"seed": -1}, ValueError, "seed"),
        ({"pi": 1.0}, InputError, "pi must be above 0 and below 1"),
        ({"pi": "0.9"}, TypeError, "pi must be a number"),
        ({"r2": 0.0}, InputError, "r2"),
        ({"df_b": -1}, InputError, "df_b"),
    ],
)
def test_bayesb__bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        BayesB(**kwargs)


def test_bayescpi__bad_pi_prior():
    with pytest.raises(TypeError, match="pi_prior"):
        BayesCPi(pi_prior=1.0)
    with pytest.raises(InputError, match=r"pi_prior\[1\]"):
        BayesCPi(pi_prior=(1.0, 0.0))


def test_bayesianlasso__predict_needs_fit_and_same_markers(data):
    X, y, _, _ = data
    with pytest.raises(InputError, match="fit"):
        BayesianLasso().predict(X)
    model = BayesianLasso(n_iter=20, burn_in=0, thin=2).fit(X[:50], y[:50], ploidy=2)
    with pytest.raises(InputError, match="500"):
        model.predict(X[:5, :400])


def test_effective_sample_size__ar1_matches_theory():
    # AR(1) with coefficient phi: n_eff = n (1 - phi) / (1 + phi)
    rng = np.random.default_rng(11)
    n, phi = 20_000, 0.8
    x = np.zeros(n)
    noise = rng.normal(size=n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + noise[i]
    assert effective_sample_size(x) == pytest.approx(n * (1 - phi) / (1 + phi), rel=0.2)
    assert effective_sample_size(rng.normal(size=n)) == pytest.approx(n, rel=0.1)
    assert effective_sample_size(np.ones(50)) == 50


def test_geweke_z__standard_normal_under_stationarity():
    rng = np.random.default_rng(12)
    z = np.array([geweke_z(rng.normal(size=500)) for _ in range(300)])
    assert 0.88 < np.mean(np.abs(z) < 1.96) < 0.99
    assert geweke_z(np.linspace(0.0, 1.0, 500)) < -5
    assert np.isnan(geweke_z(np.ones(100)))
    with pytest.raises(ValueError, match="fractions"):
        geweke_z(np.ones(100), first=0.6, last=0.6)
