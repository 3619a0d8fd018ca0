"""`breedhub predict cv | fit | apply` on the shipped CIMMYT wheat data and small files."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from breedhub.cli import main

WHEAT = Path(__file__).resolve().parents[3] / "shared" / "data" / "gs" / "bglr_wheat"


def run(*args, ok=True):
    r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert r.exit_code == 0, r.output + r.stderr
    return r


@pytest.mark.skipif(not WHEAT.exists(), reason="shared wheat data not present")
def test_predict_cv__wheat_with_shipped_folds_json():
    r = run("predict", "cv", "--genotypes", WHEAT / "genotypes.npz", "--phenotypes", WHEAT / "phenotypes.csv",
            "--trait", "GY_E1", "--ploidy", "1", "--fold-column", "cv_fold_bglr", "--json")  # fmt: skip
    out = json.loads(r.output)
    assert out["method"] == "gblup" and out["trait"] == "GY_E1" and out["n"] == 599
    assert len(out["folds"]) == 10 and {"r", "rmse", "n"} <= set(out["folds"][0])
    assert 0.4 < out["mean_r"] < 0.65  # Crossa et al. 2010 report 0.48 for marker BLUP


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 7, size=(60, 120))  # hexaploid dosages
    y = X @ rng.normal(size=120) * 0.1 + rng.normal(size=60)
    ids = [f"s{i}" for i in range(60)]
    np.savez(
        tmp_path / "g.npz",
        X=X.astype(np.int8),
        sample_ids=np.array(ids),
        marker_ids=np.array([f"m{j}" for j in range(120)]),
        ploidy=6,
    )
    lines = ["sample_id,yield"] + [f"{s},{v:.4f}" for s, v in zip(ids[:50], y[:50], strict=True)]
    (tmp_path / "p.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_predict_fit_then_apply(files):
    model = files / "m.npz"
    out = json.loads(run("predict", "fit", "--genotypes", files / "g.npz", "--phenotypes", files / "p.csv",
                         "--trait", "yield", "--method", "gblup", "--out", model, "--json").output)  # fmt: skip
    assert out["n_train"] == 50 and 0 <= out["h2"] <= 1
    res = json.loads(
        run("predict", "apply", "--model", model, "--genotypes", files / "g.npz", "--json").output
    )
    assert res["n"] == 60 and res["results"][0]["sample_id"] == "s0"
    run(
        "predict",
        "apply",
        "--model",
        model,
        "--genotypes",
        files / "g.npz",
        "--out",
        files / "gebv.csv",
    )
    assert (files / "gebv.csv").read_text().startswith("sample_id,gebv")


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--trait", "oil"], "no trait 'oil'"),
        (["--trait", "yield", "--ploidy", "2"], "disagrees with the file's ploidy 6"),
        (["--trait", "yield", "--param", "nonsense"], "NAME=VALUE"),
    ],
)
def test_predict_cv__bad_input_is_a_message(files, extra, message):
    r = run(
        "predict",
        "cv",
        "--genotypes",
        files / "g.npz",
        "--phenotypes",
        files / "p.csv",
        *extra,
        ok=False,
    )
    assert r.exit_code != 0 and message in r.stderr and "Traceback" not in r.stderr
