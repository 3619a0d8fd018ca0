"""``breedhub genomics``: the whole chain, reads to the genotype store, from the command line."""

import json

import allel
import h5py
import numpy as np
import pysam
import pytest
from click.testing import CliRunner

from breedhub.cli import main


def run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output + result.stderr
    return result


def run_json(*args):
    return json.loads(run(*args, "--json").output)


@pytest.mark.parametrize(
    ("species", "ploidy", "depth"), [("rice", 2, 15), ("oil_tea", 6, 50)], ids=["rice", "oil_tea"]
)
def test_genomics_chain__reads_to_store(tmp_path, species, ploidy, depth):
    sim = run_json(
        "genomics", "simulate", tmp_path / "sim", "--species", species, "--samples", 6,
        "--depth", depth, "--contigs", 2, "--contig-length", 20_000, "--seed", 5,
    )  # fmt: skip
    assert sim["ploidy"] == ploidy
    ref = sim["reference"]
    run("genomics", "index", ref)
    bams = []
    for line in open(sim["sample_sheet"]).read().splitlines()[1:]:
        sample, r1, r2 = line.split("\t")[:3]
        bam = tmp_path / "bam" / f"{sample}.bam"
        stats = run_json(
            "genomics", "align", ref, "--r1", r1, "--r2", r2, "--sample", sample, "-o", bam
        )
        assert stats["mapped_pct"] > 98
        bams.append(bam)
    raw = tmp_path / "calls.vcf.gz"
    run("genomics", "call", ref, *bams, "--species", species, "-o", raw, "--threads", 2)
    with pysam.VariantFile(str(raw)) as vf:
        rec = next(iter(vf))
        assert len(rec.samples[0]["GT"]) == ploidy
    score = run_json("genomics", "evaluate", raw, sim["truth_vcf"], ref, "--species", species)
    assert score["snp_f1"] > 0.9
    filt = tmp_path / "filtered.vcf.gz"
    qc = run_json("genomics", "filter", raw, "--species", species, "-o", filt)
    assert (tmp_path / "filtered.qc.html").exists() and (tmp_path / "filtered.qc.json").exists()
    assert 0 < qc["n_variants_kept"] <= qc["n_variants_in"] and qc["samples_kept"]
    imp = tmp_path / "imputed.vcf.gz"
    run("genomics", "impute", filt, "--species", species, "-o", imp)
    h5 = tmp_path / "genotypes.h5"
    summary = run_json("genomics", "store", imp, "--species", species, "-o", h5)
    assert summary["n_samples"] == 6 and summary["ploidy"] == ploidy
    with h5py.File(h5, "r") as f:
        assert f.attrs["species"] == species and f.attrs["ploidy"] == ploidy
        dosage = f["calldata/dosage"][:]
        gt = allel.GenotypeArray(f["calldata/GT"][:])
    assert dosage.min() >= 0 and dosage.max() <= ploidy  # imputed: nothing missing
    np.testing.assert_array_equal(gt.to_allele_counts(max_allele=1)[..., 1], dosage)
    run("genomics", "stats", h5, "-o", tmp_path / "popgen")
    assert (tmp_path / "popgen" / "popgen.json").exists()
    run("genomics", "export", h5, "--vcf", tmp_path / "back.vcf.gz")
    if ploidy == 2:
        run("genomics", "export", h5, "--plink", tmp_path / "back")
        assert (tmp_path / "back.bed").exists()
    else:
        bad = run("genomics", "export", h5, "--plink", tmp_path / "back", ok=False)
        assert bad.exit_code != 0 and "PLINK" in bad.output + bad.stderr


def test_genomics__needs_a_ploidy(tmp_path):
    bad = run("genomics", "simulate", tmp_path / "sim", ok=False)
    assert bad.exit_code != 0 and "--species" in bad.output + bad.stderr


def test_genomics_index__bad_fasta_is_a_message_not_a_traceback(tmp_path):
    fa = tmp_path / "ref.fa"
    fa.write_text(">chr1\nACGTXACGT\n>chr1\nACGT\n")
    bad = run("genomics", "index", fa, ok=False)
    out = bad.output + bad.stderr
    assert bad.exit_code == 1 and "ref.fa" in out and "line 2" in out and "Traceback" not in out
    assert not (tmp_path / "ref.fa.fai").exists()
