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
