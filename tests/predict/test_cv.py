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


def test_cross_validate__integer_labels_come_back_as_given():
    X, y = simulate(n=100)
    labels = [str(i % 10 + 1) for i in range(100)]  # "1".."10" as a CSV gives them
    res = cross_validate(X, y, method="gblup", ploidy=2, fold_ids=labels)
    assert [f.fold for f in res.folds] == list(range(1, 11))
    assert list(res.fold_r) == [str(i) for i in range(1, 11)]
    assert res.fold_r["1"] == res.folds[0].r and sum(f.n for f in res.folds) == 100


def test_cross_validate__string_labels_as_given_and_unlabelled_never_tested():
    X, y = simulate(n=90)
    labels = np.array(["north", "south", "east"] * 30, dtype=object)
    labels[:3] = None
    res = cross_validate(X, y, method="gblup", ploidy=2, fold_ids=labels)
    assert [f.fold for f in res.folds] == ["north", "south", "east"]
    assert sum(f.n for f in res.folds) == 87 and np.isnan(res.predictions[:3]).all()


def test_cross_validate__bias_is_the_slope_of_observed_on_predicted():
    X, y = simulate(n=120)
    labels = np.arange(120) % 3
    res = cross_validate(X, y, method="gblup", ploidy=2, fold_ids=labels)
    for f in res.folds:
        test = labels == f.fold
        assert f.slope == pytest.approx(np.polyfit(res.predictions[test], y[test], 1)[0])
    assert res.bias == pytest.approx(np.mean([f.slope for f in res.folds]))
    assert np.mean([f.r for f in res.folds]) == pytest.approx(res.mean_r)
    assert res.sd_r == pytest.approx(np.std([f.r for f in res.folds], ddof=1))


def test_cross_validate__each_warning_once_with_its_folds(capfd):
    rng = np.random.default_rng(5)
    X = rng.integers(0, 3, size=(60, 100))
    y = rng.normal(size=60)  # no genetic signal: REML ends at the edge of its range in every fold
    res = cross_validate(X, y, method="gblup", ploidy=2, folds=5, seed=2)
    edge = [w for w in res.warnings if "edge of its range" in w["message"]]
    assert len(edge) == 1 and edge[0]["count"] == 5 and edge[0]["folds"] == [1, 2, 3, 4, 5]
    assert "edge of its range" not in capfd.readouterr().err  # collected, not printed per fit


def test_cross_validate__effective_parameters_fill_in_the_defaults():
    X, y = simulate(n=60, m=50)
    res = cross_validate(
        X, y, method="bayesb", ploidy=2, folds=2, params={"n_iter": 60, "burn_in": 20}
    )
    assert res.params == {"n_iter": 60, "burn_in": 20}
    assert res.effective_params["n_iter"] == 60 and "pi" in res.effective_params
    assert "thin" in res.effective_params and "seed" in res.effective_params


def test_fold_labels__numbers_sorted_numerically():
    from breedhub.predict.cv import fold_labels

    codes, labels = fold_labels([10, 2, 1, 2.0, None], 5)
    assert labels == [1, 2, 10] and codes.tolist() == [2, 1, 0, 1, -1]
