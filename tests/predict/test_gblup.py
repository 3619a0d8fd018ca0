"""GBLUP and REML, pinned to brute-force REML and Henderson's mixed-model equations."""

import logging

import numpy as np
import pytest
from scipy.optimize import minimize

from breedhub.predict import InputError
from breedhub.predict.gblup import GBLUP, RRBLUP, Eigen, fit_traits, kernel_blup, reml
from breedhub.predict.persist import load_model, save_model
from breedhub.predict.relationship import genomic_relationship


def simulate(n=300, m=800, h2=0.5, ploidy=2, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, size=m)
    X = rng.binomial(ploidy, p, size=(n, m)).astype(np.int8)
    beta = rng.normal(size=m)
    g = (X - ploidy * p) @ beta
    g = (g - g.mean()) / g.std() * np.sqrt(h2)
    y = 10 + g + rng.normal(size=n) * np.sqrt(1 - h2)
    return X, y, g


def brute_force_reml(K, y, F):
    """REML by the textbook likelihood on the full V, optimised numerically (an independent reference)."""
    n, p = F.shape

    def nll(theta):
        sg, se = np.exp(theta)
        V = sg * K + se * np.eye(n)
        Vi = np.linalg.inv(V)
        XtViX = F.T @ Vi @ F
        P = Vi - Vi @ F @ np.linalg.solve(XtViX, F.T @ Vi)
        ld = np.linalg.slogdet(V)[1] + np.linalg.slogdet(XtViX)[1]
        return 0.5 * (ld + y @ P @ y + (n - p) * np.log(2 * np.pi))

    r = minimize(
        nll,
        [0.0, 0.0],
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 5000},
    )
    return np.exp(r.x), -r.fun


def test_reml__matches_brute_force_likelihood():
    rng = np.random.default_rng(3)
    n, m = 150, 600
    Z = rng.normal(size=(n, m))
    K = Z @ Z.T / m
    F = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = F @ [3, 1.5] + Z @ rng.normal(size=m) * np.sqrt(1.5 / m) + rng.normal(size=n)
    fit = reml(Eigen.of(K), y, F)
    (sg, se), loglik = brute_force_reml(K, y, F)
    assert fit.var_g == pytest.approx(sg, rel=1e-4)
    assert fit.var_e == pytest.approx(se, rel=1e-4)
    assert fit.loglik == pytest.approx(loglik, abs=1e-6)


def test_kernel_blup__equals_hendersons_mixed_model_equations():
    rng = np.random.default_rng(5)
    n, m = 80, 300
    Z = rng.normal(size=(n, m))
    K = Z @ Z.T / m + 0.05 * np.eye(n)  # positive definite, so K^-1 exists for the MME
    F = np.column_stack([np.ones(n), rng.integers(0, 2, size=n)])
    y = F @ [1.0, 2.0] + Z @ rng.normal(size=m) * np.sqrt(1 / m) + rng.normal(size=n)
    y[:10] = np.nan  # predicted, not observed
    res = kernel_blup(K, y, fixed=F[:, 1])
    lam = res.reml.delta
    obs = ~np.isnan(y)
    W = np.eye(n)[obs]  # incidence of observations on individuals
    Fo, yo = F[obs], y[obs]
    lhs = np.block([[Fo.T @ Fo, Fo.T @ W], [W.T @ Fo, W.T @ W + lam * np.linalg.inv(K)]])
    rhs = np.concatenate([Fo.T @ yo, W.T @ yo])
    sol = np.linalg.solve(lhs, rhs)
    np.testing.assert_allclose(res.reml.fixed, sol[:2], rtol=1e-6)
    np.testing.assert_allclose(res.gebv, sol[2:], rtol=1e-6, atol=1e-8)
    C22 = np.linalg.inv(lhs)[2:, 2:]
    pev = C22.diagonal() * res.reml.var_e
    np.testing.assert_allclose(
        res.reliability, 1 - pev / (res.reml.var_g * K.diagonal()), atol=1e-6
    )
    assert res.reliability[~obs].mean() < res.reliability[obs].mean()


def test_gblup__predictions_equal_blup_through_the_cross_relationship():
    X, y, _ = simulate(n=200, m=500)
    train, test = slice(0, 150), slice(150, 200)
    model = GBLUP().fit(X[train], y[train], ploidy=2)
    p_train = X[train].mean(axis=0) / 2
    G_all = genomic_relationship(X, ploidy=2, frequencies=p_train)
    y_all = y.astype(float).copy()
    y_all[test] = np.nan
    res = kernel_blup(G_all, y_all)
    np.testing.assert_allclose(model.predict(X[test]), res.gebv[test], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.train_gebv_, res.gebv[train], rtol=1e-4, atol=1e-6)
    assert model.info_["var_g"] == pytest.approx(res.reml.var_g, rel=1e-6)


@pytest.mark.parametrize("ploidy", [2, 4, 6])
def test_gblup__recovers_heritability_for_any_ploidy(ploidy):
    X, y, g = simulate(n=1200, m=1500, h2=0.6, ploidy=ploidy, seed=ploidy)
    model = GBLUP().fit(X[:1000], y[:1000], ploidy=ploidy)
    assert model.info_["h2"] == pytest.approx(0.6, abs=0.12)
    assert np.corrcoef(model.predict(X[1000:]), g[1000:])[0, 1] > 0.5


@pytest.mark.parametrize("ploidy", [2, 4, 6])
def test_genomic_relationship__unit_diagonal_under_hardy_weinberg(ploidy):
    rng = np.random.default_rng(ploidy)
    p = rng.uniform(0.1, 0.9, size=5000)
    X = rng.binomial(ploidy, p, size=(100, 5000))
    G = genomic_relationship(X, ploidy=ploidy, frequencies=p)
    assert np.diag(G).mean() == pytest.approx(1.0, abs=0.05)
    assert np.abs(G[np.triu_indices(100, 1)].mean()) < 0.02
    np.testing.assert_array_equal(G, G.T)


def test_fit_traits__one_decomposition_same_answers():
    X, y, _ = simulate(n=150, m=300)
    rng = np.random.default_rng(9)
    Y = np.column_stack([y, y * 2 + rng.normal(size=150), y])
    Y[:7, 2] = np.nan
    models = fit_traits(X, Y, ploidy=2)
    for j, m in enumerate(models):
        single = GBLUP().fit(X, Y[:, j], ploidy=2)
        np.testing.assert_allclose(m.marker_effects_, single.marker_effects_, rtol=1e-6, atol=1e-10)
        assert m.info_["h2"] == pytest.approx(single.info_["h2"], rel=1e-6)


def test_gblup__fixed_effects_are_estimated_not_predicted():
    X, y, g = simulate(n=300, m=400)
    env = np.repeat([0, 1, 2], 100)
    y2 = y + np.array([0.0, 5.0, -3.0])[env]
    F = np.column_stack([env == 1, env == 2]).astype(float)
    model = GBLUP().fit(X, y2, fixed=F, ploidy=2)
    assert model.info_["fixed_effects"][1:] == pytest.approx([5.0, -3.0], abs=0.4)
    assert np.corrcoef(model.train_gebv_, g)[0, 1] > 0.6


def test_gblup__save_and_load_round_trip(tmp_path):
    X, y, _ = simulate(n=100, m=200)
    model = RRBLUP().fit(X, y, ploidy=2)
    path = save_model(model, tmp_path / "m.npz", trait="yield")
    back = load_model(path)
    record = back.info_["provenance"]  # the shared record of breedhub.base.provenance
    assert type(back) is RRBLUP and record["extra"]["trait"] == "yield"
    assert record["tool"] == "breedhub" and record["parameters"]["method"] == "rrblup"
    assert record["parameters"]["ploidy"] == 2 and back.ploidy == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]  # no temporary left behind
    np.testing.assert_allclose(back.predict(X), model.predict(X))


@pytest.mark.parametrize(
    "genotypes, phenotypes, message",
    [
        ([[0, 1], [1, 2], [2, 0]], [1.0, 2.0], "has 2 values but the genotypes 3"),
        ([[0, 1], [1, 2], [2, 0], [1, 1]], [1.0, 1.0, 1.0, 1.0], "constant"),
        ([[0, 1], [1, 2], [2, 0]], [np.nan] * 3, "every value is missing"),
        ([[0, 1], [1, 3], [2, 0]], [1.0, 2.0, 3.0], "above the ploidy 2"),
        ([[0, 1], [1, -1], [2, 0]], [1.0, 2.0, 3.0], "missing or negative dosages in samples 1"),
    ],
)
def test_gblup__bad_input_names_the_problem(genotypes, phenotypes, message):
    with pytest.raises(InputError, match=message):
        GBLUP().fit(genotypes, phenotypes, ploidy=2)


def test_gblup__non_numeric_phenotypes_are_a_type_error():
    with pytest.raises(TypeError, match="numeric"):
        GBLUP().fit([[0, 1], [1, 2], [2, 0]], ["a", "b", "c"], ploidy=2)


def test_kernel_blup__not_positive_definite_gets_a_logged_ridge(caplog):
    rng = np.random.default_rng(2)
    K = np.eye(30) - 0.2  # an eigenvalue of 1 - 0.2 * 30 < 0
    y = rng.normal(size=30)
    with caplog.at_level(logging.WARNING, logger="predict.gblup"):
        res = kernel_blup(K, y)
    assert "adding a ridge" in caplog.text and np.isfinite(res.gebv).all()
    with pytest.raises(InputError, match="not symmetric"):
        kernel_blup(K + np.triu(np.ones((30, 30)), 1), y)


def test_kernel_blup__pedigree_and_single_step_use_the_same_machinery():
    """Pedigree BLUP on A and ssGBLUP on H = (H^-1)^-1 through kernel_blup (Legarra et al. 2009)."""
    from breedhub.predict.pedigree import a_matrix, prepare_pedigree
    from breedhub.predict.single_step import h_inverse

    rng = np.random.default_rng(11)
    ids = [f"f{i}" for i in range(20)]
    sires, dams = [None] * 20, [None] * 20
    for i in range(60):  # two generations of random matings
        ids.append(f"o{i}")
        pool = ids[: 20 + (i // 30) * 30]
        s, d = rng.choice(len(pool), size=2, replace=False)
        sires.append(pool[s])
        dams.append(pool[d])
    ped = prepare_pedigree(ids, sires, dams)
    A = a_matrix(ped, ploidy=2)
    n = len(ids)
    u = np.linalg.cholesky(A) @ rng.normal(size=n)
    y = u + rng.normal(size=n)
    y[-15:] = np.nan
    pblup = kernel_blup(A, y)
    assert np.corrcoef(pblup.gebv[-15:], u[-15:])[0, 1] > 0.3
    genotyped = ids[20:]
    X = rng.binomial(2, 0.5, size=(60, 500))
    G = genomic_relationship(X, ploidy=2)
    H = np.linalg.inv(h_inverse(ped, G, genotyped, ploidy=2).toarray())
    ss = kernel_blup(H, y)
    assert ss.gebv.shape == (n,) and np.isfinite(ss.reliability).all()
    # with G equal to A22, H is A and ssGBLUP is pedigree BLUP
    A22 = A[20:, 20:]
    H_same = np.linalg.inv(h_inverse(ped, A22, genotyped, blend=0.0, ploidy=2).toarray())
    np.testing.assert_allclose(kernel_blup(H_same, y).gebv, pblup.gebv, rtol=1e-5, atol=1e-7)
