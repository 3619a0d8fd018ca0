import numpy as np
import pytest

from breedhub.predict import InputError
from breedhub.predict.auto import (
    _deficit_too_large,
    _Shared,
    candidates_named,
    default_candidates,
    nested_cv,
    parse_budget,
    search,
)


def epistatic(n=150, m=200, seed=0):
    """A trait of marker interactions, where a Gaussian kernel beats GBLUP."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, size=(n, m))
    g = np.sin(X[:, :30].sum(axis=1) / 3.0) * 2 + (X[:, 0] * X[:, 1] == 4) * 2.0
    return X, g + rng.normal(size=n) * 0.5


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("10m", 600), ("1h", 3600), (" 2m ", 120)])
def test_parse_budget__good(text, seconds):
    assert parse_budget(text) == seconds


@pytest.mark.parametrize(
    "text", ["10x", "-1m", "1.5h", "10", "", "m", "99999999h", "200h", "0s", "１m"]
)
def test_parse_budget__bad_is_one_line(text):
    with pytest.raises(InputError) as exc:
        parse_budget(text)
    assert "\n" not in str(exc.value) and "budget" in str(exc.value)


def test_default_candidates__cheapest_first_nets_left_out_on_cpu():
    names = [c.name for c in default_candidates(include_slow=False)]
    assert names[0] == "gblup" and "rkhs" in names and "rkhs-1k" in names
    assert {"bayesb", "bayescpi", "bl"} <= set(names) and not {"mlp", "cnn"} & set(names)
    assert {"mlp", "cnn"} <= {c.name for c in default_candidates(include_slow=True)}
    with pytest.raises(InputError, match="unknown auto candidates magic"):
        candidates_named(["gblup", "magic"])


def test_deficit_too_large__racing_rule():
    assert not _deficit_too_large([0.5], [0.3])  # one fold: never
    assert _deficit_too_large([0.5, 0.52], [0.40, 0.43])
    assert not _deficit_too_large([0.5, 0.52], [0.49, 0.515])  # within the margin
    assert not _deficit_too_large([0.5, 0.52], [0.3, 0.53])  # noisy: not 2 SE below


def test_shared_gblup__same_predictions_as_the_gblup_class():
    from breedhub.predict.gblup import GBLUP

    X, y = epistatic(n=80)
    shared = _Shared(X.astype(np.float32), y, 2)
    train, test = np.arange(60), np.arange(60, 80)
    fast = shared.gblup(train, test)
    slow = GBLUP().fit(X[train], y[train], ploidy=2).predict(X[test])
    assert np.allclose(fast, slow, atol=1e-6)


def test_search__uses_only_its_rows():
    # The inner search of an outer fold sees only the outer training rows: poisoning
    # every other row changes nothing, and the scores equal those of the rows alone.
    X, y = epistatic(n=120)
    rows = np.arange(30, 120)
    poisoned = y.copy()
    poisoned[:30] = np.random.default_rng(9).normal(size=30) * 1e6
    cands = candidates_named(["gblup", "rkhs-1k"])
    a = search(
        _Shared(X.astype(np.float32), poisoned, 2),
        rows,
        cands,
        inner_folds=3,
        seed=4,
        deadline=np.inf,
    )
    b = search(_Shared(X[rows].astype(np.float32), y[rows], 2), np.arange(90), cands, inner_folds=3,
               seed=4, deadline=np.inf)  # fmt: skip
    assert a.chosen == b.chosen
    for name in ("gblup", "rkhs-1k"):
        assert np.allclose(a.scores[name].fold_r, b.scores[name].fold_r)


def test_nested_cv__outer_test_folds_never_in_the_inner_searches():
    X, y = epistatic(n=120)
    labels = np.repeat(["a", "b", "c"], 40)
    res = nested_cv(X, y, ploidy=2, candidates=candidates_named(["gblup", "rkhs-1k"]), fold_ids=labels,
                    inner_folds=3, final=False)  # fmt: skip
    assert [f.fold for f in res.folds] == ["a", "b", "c"]
    for f in res.folds:
        assert f.search["n"] == 80 and f.n == 40  # inner searches on the 80 outer-training lines
    assert res.final["search"] is None


def test_nested_cv__picks_the_kernel_on_an_epistatic_trait():
    X, y = epistatic(n=150)
    res = nested_cv(
        X, y, ploidy=2, candidates=candidates_named(["gblup", "rkhs-1k"]), folds=3, inner_folds=3
    )
    assert res.final["name"] == "rkhs-1k" and [f.chosen for f in res.folds].count("rkhs-1k") >= 2
    assert res.inner["rkhs-1k"]["mean_inner_r"] > res.inner["gblup"]["mean_inner_r"]
    assert res.inner["rkhs-1k"]["chosen"] + res.inner["gblup"]["chosen"] == 4  # 3 outer + the final
    assert res.mean_r == pytest.approx(np.mean([f.r for f in res.folds]))
    assert res.sd_r == pytest.approx(np.std([f.r for f in res.folds], ddof=1))
    assert set(res.fold_r) == {"1", "2", "3"} and np.isfinite(res.bias)
    d = res.to_dict()
    assert d["method"] == "auto" and d["folds"][0]["chosen"] in ("rkhs-1k", "gblup")
    assert "predictions" not in d and d["final"]["effective_params"]["bandwidths"]


def test_nested_cv__zero_budget_runs_gblup_only_and_says_so():
    X, y = epistatic(n=90)
    res = nested_cv(X, y, ploidy=2, candidates=candidates_named(["gblup", "rkhs", "bayesb"]), folds=3,
                    inner_folds=3, budget_s=0)  # fmt: skip
    assert res.final["name"] == "gblup" and all(f.chosen == "gblup" for f in res.folds)
    assert res.notes[0] == "the budget allowed gblup only"
    assert res.inner["rkhs"]["skipped"] == 4 and res.inner["bayesb"]["complete"] == 0
    assert res.folds[0].search["inner"]["bayesb"]["status"].startswith("skipped: budget")


def test_nested_cv__racing_drops_a_clear_loser():
    X, y = epistatic(n=120, seed=1)
    slow_bad = candidates_named(["rkhs-1k", "bl"])  # the kernel leads; BL is linear and far behind
    short = type(slow_bad[1])("bl", "bl", {"n_iter": 300, "burn_in": 100}, 150.0)
    res = nested_cv(
        X, y, ploidy=2, candidates=[slow_bad[0], short], folds=3, inner_folds=4, final=False
    )
    assert res.inner["bl"]["dropped"] >= 1
    status = [f.search["inner"]["bl"]["status"] for f in res.folds]
    assert any(s.startswith("dropped after 2 inner folds") for s in status)


def test_nested_cv__bad_arguments():
    X, y = epistatic(n=30)
    cands = candidates_named(["gblup"])
    with pytest.raises(InputError, match="inner_folds"):
        nested_cv(X, y, ploidy=2, candidates=cands, folds=3, inner_folds=50)
    with pytest.raises(InputError, match="budget"):
        nested_cv(X, y, ploidy=2, candidates=cands, folds=3, budget_s=-1)
