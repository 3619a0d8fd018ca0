import numpy as np
import pytest

from breedhub.predict import InputError
from breedhub.predict.gblup import kernel_blup
from breedhub.predict.gxe import (
    _ai_reml,
    _env_design,
    fit_gxe,
    genomic_g,
    gxe_cv,
    predict_gxe,
    record_folds,
)


def simulate(n=120, m=300, envs=3, seed=0, main=1.0, dev=0.7, noise=0.5):
    """Lines x environments: a main genetic effect shared by all environments plus deviations of each."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, size=(n, m))
    Z = (X - X.mean(axis=0)) / np.sqrt(m)
    g = Z @ rng.normal(size=m)
    ge = np.column_stack([Z @ rng.normal(size=m) for _ in range(envs)])
    truth = main * g[:, None] / g.std() + dev * ge / ge.std(axis=0)
    return X, truth, truth + rng.normal(size=(n, envs)) * noise + np.arange(envs)[None, :] * 3


def test_record_folds__cv1_keeps_a_line_together_cv2_spreads_it():
    line_codes = np.array([0, 1, 2, 3, 4, -1])
    cv1 = record_folds(line_codes, 3, 5, "cv1")
    assert (cv1 == line_codes[:, None]).all()
    cv2 = record_folds(line_codes, 3, 5, "cv2")
    for i in range(5):  # a tested line's records are in different folds
        assert len(set(cv2[i])) == 3
    for j in range(3):  # within an environment the test sets are the line folds, relabelled
        assert sorted(cv2[:5, j]) == [0, 1, 2, 3, 4]
    assert (cv2[5] == -1).all()
    with pytest.raises(InputError, match="at least as many folds as environments"):
        record_folds(line_codes, 4, 3, "cv2")


def test_fit_gxe__balanced_shortcut_agrees_with_dense_ai_reml():
    X, _, Y = simulate(n=80, m=300, envs=3, noise=1.0)
    G = genomic_g(X.astype(np.float32), 2)
    li, ej = np.nonzero(~np.isnan(Y))
    fast = fit_gxe(G, li, ej, Y[li, ej], 3)
    dense = _ai_reml(G, li, ej, Y[li, ej], _env_design(ej, 3), 3)
    assert fast.loglik == pytest.approx(dense.loglik, abs=0.05)
    for a, b in [(fast.var_g, dense.var_g), (fast.var_ge, dense.var_ge), (fast.var_e, dense.var_e)]:
        assert a == pytest.approx(b, rel=0.1, abs=0.02)
    order = np.lexsort((li, ej))
    assert np.allclose(
        predict_gxe(fast, G, li, ej),
        predict_gxe(dense, G, li[order], ej[order])[np.argsort(order)],
        atol=0.02,
    )


def test_fit_gxe__recovers_environment_specific_effects_better_than_one_environment():
    X, truth, Y = simulate(seed=1)
    Y[np.random.default_rng(2).random(Y.shape) < 0.3] = np.nan  # unbalanced: the dense REML
    G = genomic_g(X.astype(np.float32), 2)
    li, ej = np.nonzero(~np.isnan(Y))
    fit = fit_gxe(G, li, ej, Y[li, ej], 3)
    assert fit.var_ge > 0.1 and fit.var_g > 0.1 and 0 < fit.w < 1
    assert fit.env_means == pytest.approx([0, 3, 6], abs=0.6)
    every = np.repeat(np.arange(120), 3), np.tile(np.arange(3), 120)
    pred = predict_gxe(fit, G, *every).reshape(120, 3)
    for j in range(3):
        single = kernel_blup(G, Y[:, j]).gebv
        r_gxe = np.corrcoef(pred[:, j], truth[:, j])[0, 1]
        r_one = np.corrcoef(single, truth[:, j])[0, 1]
        assert r_gxe > r_one  # the records of the other environments help


def test_gxe_cv__cv2_beats_single_environment_gblup_and_reports_per_fold():
    X, _, Y = simulate(n=100, seed=3)
    labels = np.array([f"f{i % 4}" for i in range(100)], dtype=object)
    res = gxe_cv(X, Y, ploidy=2, environments=["a", "b", "c"], scheme="cv2", fold_ids=labels)
    assert (
        res.n_records == 300
        and len(res.folds) == 4
        and [f["fold"] for f in res.folds] == ["f0", "f1", "f2", "f3"]
    )
    assert res.mean_r > res.single_mean_r + 0.05
    assert set(res.env["a"]["fold_r"]) == {"f0", "f1", "f2", "f3"} and res.env["a"]["n_test"] == 100
    one = gxe_cv(X, Y, ploidy=2, scheme="cv1", folds=4, seed=1)
    assert one.environments == ["E1", "E2", "E3"] and np.isfinite(one.mean_r)
    assert all(f["E1"]["n"] == 25 for f in one.folds)


def test_gxe_cv__bad_input():
    X, _, Y = simulate(n=30, m=50)
    with pytest.raises(InputError, match="lines x environments"):
        gxe_cv(X, Y[:, 0], ploidy=2)
    with pytest.raises(InputError, match="scheme"):
        gxe_cv(X, Y, ploidy=2, scheme="cv3")
