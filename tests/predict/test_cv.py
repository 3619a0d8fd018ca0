import numpy as np
import pytest

from breedhub.predict import InputError
from breedhub.predict.cv import cross_validate, make_folds, top_overlap


def simulate(n=200, m=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, size=(n, m))
    g = X @ rng.normal(size=m) * 0.1
    return X, g + rng.normal(size=n) * g.std()


def test_cross_validate__every_individual_tested_once_per_repeat():
    X, y = simulate()
    y[:10] = np.nan
    res = cross_validate(X, y, method="gblup", ploidy=2, folds=5, repeats=2, seed=1)
    assert len(res.folds) == 10 and res.n == 190
    assert sum(f.n for f in res.folds if f.repeat == 0) == 190
    assert np.isnan(res.predictions[:10]).all() and np.isfinite(res.predictions[10:]).all()
    assert 0.3 < res.mean_r < 0.95 and res.mean_rmse > 0 and 0 <= res.mean_top_overlap <= 1
    assert res.to_dict()["folds"][0].keys() >= {"r", "rmse", "n"}


def test_cross_validate__given_folds_and_same_seed_same_answer():
    X, y = simulate()
    labels = np.arange(200) % 4
    a = cross_validate(X, y, method="rrblup", ploidy=2, fold_ids=labels)
    b = cross_validate(X, y, method="rrblup", ploidy=2, fold_ids=labels)
    assert [f.fold for f in a.folds] == [0, 1, 2, 3] and a.mean_r == b.mean_r


def test_cross_validate__bad_arguments():
    X, y = simulate(n=20)
    with pytest.raises(InputError, match="folds must be between 2"):
        cross_validate(X, y, ploidy=2, folds=1)
    with pytest.raises(InputError, match="unknown method 'magic'"):
        cross_validate(X, y, ploidy=2, method="magic")
    with pytest.raises(InputError, match="bandwidths"):
        cross_validate(X, y, ploidy=2, method="rkhs", params={"bandwidths": [-1]})


def test_make_folds__balanced():
    labels = make_folds(103, folds=10, seed=0)
    assert np.bincount(labels).min() == 10 and np.bincount(labels).max() == 11


def test_top_overlap__partial():
    pred = np.array([10, 9, 1, 2, 3, 4, 5, 6, 7, 8.0])
    obs = np.array([10, 1, 9, 2, 3, 4, 5, 6, 7, 8.0])
    assert top_overlap(pred, obs, fraction=0.2) == 0.5
