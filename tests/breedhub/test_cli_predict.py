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
    out = json.loads(r.stdout)
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
                         "--trait", "yield", "--method", "gblup", "--out", model, "--json").stdout)  # fmt: skip
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


@pytest.fixture
def vcf_files(tmp_path):
    """The same diploid genotypes as a plain-gzip VCF, its BGZF copy and the HDF5 store."""
    import gzip

    import pysam

    from breedhub.genomics.store_vcf import vcf_to_store

    rng = np.random.default_rng(3)
    n, m = 40, 80
    X = rng.binomial(2, 0.4, size=(n, m))
    y = X @ rng.normal(size=m) * 0.2 + rng.normal(size=n)
    samples = [f"s{i}" for i in range(n)]
    calls = {0: "0/0", 1: "0/1", 2: "1/1"}
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr1,length=1000000>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]),
    ]  # fmt: skip
    for j in range(m):
        row = [calls[int(d)] for d in X[:, j]]
        lines.append("\t".join(["chr1", str(100 * (j + 1)), f"m{j}", "A", "G", ".", "PASS", ".", "GT", *row]))  # fmt: skip
    text = "\n".join(lines) + "\n"
    (tmp_path / "g.vcf").write_text(text)
    (tmp_path / "plain.vcf.gz").write_bytes(gzip.compress(text.encode()))  # as `gzip` writes it
    pysam.tabix_compress(str(tmp_path / "g.vcf"), str(tmp_path / "bgzf.vcf.gz"))
    vcf_to_store(tmp_path / "g.vcf", tmp_path / "g.h5")
    pheno = ["sample_id,yield"] + [f"{s},{v:.4f}" for s, v in zip(samples, y, strict=True)]
    (tmp_path / "p.csv").write_text("\n".join(pheno) + "\n")
    return tmp_path


def test_predict_cv__same_accuracy_from_plain_gzip_vcf_bgzf_and_store(vcf_files):
    results = []
    for name in ("plain.vcf.gz", "bgzf.vcf.gz", "g.h5"):
        r = run("predict", "cv", "--genotypes", vcf_files / name, "--phenotypes", vcf_files / "p.csv",
                "--trait", "yield", "--folds", "4", "--seed", "1", "--json")  # fmt: skip
        assert "Traceback" not in r.output + r.stderr
        out = json.loads(r.stdout)
        results.append((out["n"], out["mean_r"], out["mean_rmse"], [f["r"] for f in out["folds"]]))
    assert results[0][0] == 40
    assert results[0] == results[1] == results[2]


def test_predict_cv__plain_gzip_vcf_errors_are_messages(vcf_files):
    # a broken plain-gzip VCF, and a ploidy that disagrees with it: messages, not tracebacks
    import gzip

    broken = vcf_files / "broken.vcf.gz"
    broken.write_bytes(gzip.compress((vcf_files / "g.vcf").read_bytes())[:-40])
    for genotypes, extra, message in [
        (broken, [], "broken.vcf.gz"),
        (vcf_files / "plain.vcf.gz", ["--ploidy", "4"], "plain.vcf.gz"),
        (vcf_files / "plain.vcf.gz", ["--species", "oil-tea"], "plain.vcf.gz"),
    ]:
        r = run("predict", "cv", "--genotypes", genotypes, "--phenotypes", vcf_files / "p.csv",
                "--trait", "yield", *extra, ok=False)  # fmt: skip
        assert r.exit_code != 0 and message in r.stderr and "Traceback" not in r.stderr


def test_predict_cv__ploidy_from_the_species_when_the_file_lacks_it(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.integers(0, 7, size=(30, 40))
    y = X @ rng.normal(size=40) * 0.1 + rng.normal(size=30)
    rows = ["sample_id," + ",".join(f"m{j}" for j in range(40))]
    rows += [f"s{i}," + ",".join(map(str, X[i])) for i in range(30)]
    (tmp_path / "g.csv").write_text("\n".join(rows) + "\n")
    pheno = ["sample_id,yield"] + [f"s{i},{v:.4f}" for i, v in enumerate(y)]
    (tmp_path / "p.csv").write_text("\n".join(pheno) + "\n")
    args = ["predict", "cv", "--genotypes", tmp_path / "g.csv", "--phenotypes", tmp_path / "p.csv",
            "--trait", "yield", "--folds", "3", "--json"]  # fmt: skip
    r = run(*args, ok=False)
    assert r.exit_code != 0 and "does not say its ploidy" in r.output + r.stderr
    by_species = json.loads(run(*args, "--species", "oil-tea").stdout)
    by_ploidy = json.loads(run(*args, "--ploidy", "6").stdout)
    assert by_species["mean_r"] == by_ploidy["mean_r"] and by_species["n"] == 30
    r = run(*args, "--species", "rice", ok=False)  # diploid: hexaploid dosages are refused
    assert r.exit_code != 0 and "outside 0..2" in r.output + r.stderr


def _with_column(files, name, values):
    lines = (files / "p.csv").read_text().splitlines()
    out = [lines[0] + f",{name}"] + [f"{row},{v}" for row, v in zip(lines[1:], values, strict=True)]
    (files / "p2.csv").write_text("\n".join(out) + "\n")
    return files / "p2.csv"


def test_predict_cv__fold_labels_kept_as_given(files):
    pheno = _with_column(files, "fold", [i % 10 + 1 for i in range(50)])
    out = json.loads(run("predict", "cv", "--genotypes", files / "g.npz", "--phenotypes", pheno, "--trait",
                         "yield", "--fold-column", "fold", "--json").stdout)  # fmt: skip
    assert [f["fold"] for f in out["folds"]] == list(range(1, 11))
    assert list(out["fold_r"]) == [str(i) for i in range(1, 11)]
    assert {"bias", "sd_r", "effective_params", "warnings"} <= set(out)
    pheno = _with_column(files, "site", ["north", "south"] * 25)
    out = json.loads(run("predict", "cv", "--genotypes", files / "g.npz", "--phenotypes", pheno, "--trait",
                         "yield", "--fold-column", "site", "--json").stdout)  # fmt: skip
    assert [f["fold"] for f in out["folds"]] == ["north", "south"]


def test_predict_cv__progress_on_stderr_with_json(files):
    r = run("predict", "cv", "--genotypes", files / "g.npz", "--phenotypes", files / "p.csv", "--trait",
            "yield", "--folds", "3", "--json")  # fmt: skip
    assert json.loads(r.stdout)["method"] == "gblup"
    progress = [line for line in r.stderr.splitlines() if "elapsed" in line]
    assert len(progress) == 3 and "elapsed" in progress[-1] and "(3/3)" in progress[-1]


def test_predict_cv__warnings_printed_once_naming_their_folds(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.integers(0, 3, size=(60, 100))
    ids = [f"s{i}" for i in range(60)]
    np.savez(tmp_path / "g.npz", X=X.astype(np.int8), sample_ids=np.array(ids),
             marker_ids=np.array([f"m{j}" for j in range(100)]), ploidy=2)  # fmt: skip
    y = rng.normal(size=60)  # no genetic signal: REML at its edge in every fold
    (tmp_path / "p.csv").write_text(
        "sample_id,y\n" + "".join(f"{s},{v}\n" for s, v in zip(ids, y, strict=True))
    )
    r = run("predict", "cv", "--genotypes", tmp_path / "g.npz", "--phenotypes", tmp_path / "p.csv",
            "--trait", "y", "--folds", "5", "--seed", "2")  # fmt: skip
    edge = [line for line in r.stderr.splitlines() if "edge of its range" in line]
    assert len(edge) == 1 and edge[0].startswith("warning: ") and "folds 1, 2, 3, 4, 5" in edge[0]


def test_predict_cv__method_auto_json(files):
    r = run("predict", "cv", "--genotypes", files / "g.npz", "--phenotypes", files / "p.csv", "--trait",
            "yield", "--method", "auto", "--candidates", "gblup,rkhs-1k", "--folds", "3", "--inner-folds", "3",
            "--budget", "10m", "--json")  # fmt: skip
    out = json.loads(r.stdout)
    assert out["method"] == "auto" and out["n"] == 50 and len(out["folds"]) == 3
    assert {f["chosen"] for f in out["folds"]} <= {"gblup", "rkhs-1k"}
    assert out["final"]["name"] in ("gblup", "rkhs-1k") and set(out["inner"]) == {
        "gblup",
        "rkhs-1k",
    }
    assert {"mean_r", "sd_r", "bias", "fold_r", "budget_s"} <= set(out) and out["budget_s"] == 600
    assert sum("outer fold" in line for line in r.stderr.splitlines()) == 3


@pytest.mark.parametrize("budget", ["10x", "-1m", "99999999h", "1.5h", "0s"])
def test_predict_cv__bad_budget_is_one_line(files, budget):
    r = run("predict", "cv", "--genotypes", files / "g.npz", "--phenotypes", files / "p.csv", "--trait",
            "yield", "--method", "auto", "--budget", budget, ok=False)  # fmt: skip
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert r.stderr.strip().startswith("error: budget") and len(r.stderr.strip().splitlines()) == 1


def test_predict_cv__budget_without_auto_is_refused(files):
    r = run("predict", "cv", "--genotypes", files / "g.npz", "--phenotypes", files / "p.csv", "--trait",
            "yield", "--budget", "1m", ok=False)  # fmt: skip
    assert r.exit_code != 0 and "--method auto" in r.stderr


def test_predict_fit__method_auto_keeps_the_choice_in_the_model(files):
    from breedhub.predict.persist import load_model

    model = files / "auto.npz"
    out = json.loads(run("predict", "fit", "--genotypes", files / "g.npz", "--phenotypes", files / "p.csv",
                         "--trait", "yield", "--method", "auto", "--candidates", "gblup,rkhs-1k", "--folds",
                         "3", "--inner-folds", "3", "--out", model, "--json").stdout)  # fmt: skip
    sel = out["selection"]
    assert out["method"] in ("gblup", "rkhs") and sel["chosen"] in ("gblup", "rkhs-1k")
    assert len(sel["outer_fold_r"]) == 3 and set(sel["inner"]) == {"gblup", "rkhs-1k"}
    saved = load_model(model).info_["selection"]
    assert saved["chosen"] == sel["chosen"] and saved["outer_mean_r"] == pytest.approx(
        sel["outer_mean_r"]
    )
    res = json.loads(
        run("predict", "apply", "--model", model, "--genotypes", files / "g.npz", "--json").stdout
    )
    assert res["n"] == 60


def test_predict_help__names_every_method_option_and_default():
    r = run("predict", "cv", "--help")
    assert "bayesb: BayesB" in r.stdout and "n_iter=" in r.stdout and "auto:" in r.stdout


def test_predict_gxe_cv__long_table_json(tmp_path):
    rng = np.random.default_rng(7)
    n, m = 48, 120
    X = rng.integers(0, 3, size=(n, m))
    ids = [f"s{i}" for i in range(n)]
    np.savez(tmp_path / "g.npz", X=X.astype(np.int8), sample_ids=np.array(ids),
             marker_ids=np.array([f"m{j}" for j in range(m)]), ploidy=2)  # fmt: skip
    g = (X - X.mean(0)) @ rng.normal(size=m) * 0.1
    rows = ["sample_id,env,yield,fold"]
    for e, shift in (("dry", 0.0), ("wet", 2.0)):
        rows += [
            f"{s},{e},{g[i] + shift + rng.normal():.4f},{i % 4 + 1}" for i, s in enumerate(ids)
        ]
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    r = run("predict", "gxe-cv", "--genotypes", tmp_path / "g.npz", "--phenotypes", tmp_path / "p.csv",
            "--trait", "yield", "--env-column", "env", "--fold-column", "fold", "--json")  # fmt: skip
    out = json.loads(r.stdout)
    assert set(out) == {"cv1", "cv2"} and out["cv1"]["environments"] == ["dry", "wet"]
    assert (
        list(out["cv2"]["env"]["dry"]["fold_r"]) == ["1", "2", "3", "4"]
        and out["cv1"]["n_records"] == 96
    )
    assert (
        "single_mean_r" in out["cv2"]
        and sum("gxe cv" in line for line in r.stderr.splitlines()) == 8
    )
    bad = run("predict", "gxe-cv", "--genotypes", tmp_path / "g.npz", "--phenotypes", tmp_path / "p.csv",
              "--trait", "yield", ok=False)  # fmt: skip
    assert bad.exit_code != 0 and "--env-column" in bad.stderr and "Traceback" not in bad.output
