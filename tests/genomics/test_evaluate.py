"""Tests of genomics.evaluate on hand-made VCF pairs whose counts are worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pysam
import pytest

from breedhub.genomics.evaluate import ClassCounts, compare_to_truth, normalise_vcf
from breedhub.genomics.exceptions import InputFileError

#          1         2         3         4         5         6
# 123456789012345678901234567890123456789012345678901234567890
C1 = "GATTACAGCTAGCAAAAAGTCCGATGCATGCTAGCTAGGCTTACGATCGGATCCTAGCTT"
C2 = "TTGACCGATAGGCTAGCATCGATCGATTTAGGCATCGAGCTAGCATCGGACTAGCATCAG"


@pytest.fixture
def reference(tmp_path) -> Path:
    path = tmp_path / "ref.fa"
    path.write_text(f">c1\n{C1}\n>c2\n{C2}\n")
    return path


def write_vcf(path: Path, samples: list[str], rows: list[str]) -> Path:
    """A VCF with ``rows`` given as whitespace-separated columns from CHROM on."""
    head = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=c1,length=60>",
        "##contig=<ID=c2,length=60>",
        '##FILTER=<ID=LowQual,Description="Low quality">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]
        ),
    ]
    path.write_text("\n".join(head + ["\t".join(r.split()) for r in rows]) + "\n")
    return path


def test_normalise_vcf__splits_and_left_aligns(reference, tmp_path):
    # c1 14-18 is AAAAA: one A deleted, written at the right end of the run.
    assert C1[12:18] == "CAAAAA" and C1[41] == "T" and C2[3] == "A"
    src = write_vcf(tmp_path / "in.vcf", ["a"], [
        "c1 17 . AA A . . . GT 0/1",
        "c1 42 . T A,C . . . GT 1/2",
        "c2 4 . A G . . . GT 1/1",
    ])  # fmt: skip
    out = normalise_vcf(src, reference, tmp_path / "out" / "norm.vcf.gz")
    assert out == tmp_path / "out" / "norm.vcf.gz" and Path(str(out) + ".tbi").is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["norm.vcf.gz", "norm.vcf.gz.tbi"]
    with pysam.VariantFile(str(out)) as vf:
        got = [(r.chrom, r.pos, r.ref, r.alts, r.samples["a"]["GT"]) for r in vf]
    assert got == [
        ("c1", 13, "CA", ("C",), (0, 1)),
        ("c1", 42, "T", ("A",), (1, 0)),
        ("c1", 42, "T", ("C",), (0, 1)),
        ("c2", 4, "A", ("G",), (1, 1)),
    ]


def test_normalise_vcf__other_reference_is_refused(reference, tmp_path):
    src = write_vcf(tmp_path / "in.vcf", ["a"], ["c1 2 . G T . . . GT 0/1"])  # c1:2 is A
    with pytest.raises(InputFileError, match="another reference") as info:
        normalise_vcf(src, reference, tmp_path / "norm.vcf.gz")
    assert info.value.path == str(src)
    assert not (tmp_path / "norm.vcf.gz").exists()
    with pytest.raises(InputFileError, match="no such"):
        normalise_vcf(tmp_path / "absent.vcf", reference, tmp_path / "norm.vcf.gz")
    with pytest.raises(ValueError, match=".vcf.gz"):
        normalise_vcf(src, reference, tmp_path / "norm.vcf")


def test_compare_to_truth__hand_made_counts(reference, tmp_path):
    truth = write_vcf(tmp_path / "truth.vcf", ["A", "B"], [
        "c1 3 . T C . . . GT 0/1 1/1",       # SNP, called right in both samples
        "c1 8 . G A . . . GT 0/1 0/0",       # SNP, A called 1/1 and B missing: 0 of 2
        "c1 13 . CA C . . . GT 0/1 1/1",     # deletion, called at the run's end: 1 of 2
        "c1 21 . C G . . . GT 1/1 0/1",      # SNP not called: FN
        "c1 42 . T A,C . . . GT 1/2 0/1",    # A called (2 of 2), C not: FN
        "c2 10 . A AGG . . . GT 0/1 0/0",    # insertion not called: FN
    ])  # fmt: skip
    calls = write_vcf(tmp_path / "calls.vcf", ["B", "A", "X"], [
        "c1 3 . T C . . . GT 1/1 0/1 0/0",
        "c1 8 . G A . . . GT ./. 1/1 0/1",
        "c1 17 . AA A . . . GT 0/1 0/1 0/0",
        "c1 30 . G A . . . GT 0/0 0/0 0/0",  # nobody carries it: not a call
        "c1 42 . T A . . . GT 0/1 0/1 0/0",
        "c1 50 . G C . LowQual . GT 0/1 0/0 0/0",  # filtered: not a call
        "c2 20 . C T . PASS . GT 0/1 0/0 0/0",  # SNP FP
        "c2 30 . A AC . . . GT 0/0 0/1 0/0",  # insertion FP
    ])  # fmt: skip
    assert (C1[2], C1[7], C1[20], C1[49], C2[9], C2[19], C2[29]) == tuple("TGCGACA")
    result = compare_to_truth(calls, truth, reference, ploidy=2)
    assert result.counts["snp"] == ClassCounts(tp=3, fp=1, fn=2)
    assert result.counts["indel"] == ClassCounts(tp=1, fp=1, fn=1)
    assert result.samples == ("A", "B")
    d = result.to_dict()
    assert d["n_true"] == 7 and d["n_called"] == 6
    assert d["snp_precision"] == pytest.approx(3 / 4) and d["snp_recall"] == pytest.approx(3 / 5)
    assert d["snp_f1"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert d["indel_precision"] == d["indel_recall"] == d["indel_f1"] == pytest.approx(0.5)
    assert d["genotype_concordance"] == pytest.approx(5 / 8)
    assert d["genotype_concordance_snp"] == pytest.approx(4 / 6)
    assert d["genotype_concordance_indel"] == pytest.approx(1 / 2)
    assert d["dosage_concordance"] == d["genotype_concordance"]
    assert d["other_precision"] is None
    json.dumps(d, allow_nan=False)
    # With filtered records kept, the LowQual SNP is one more false positive.
    loose = compare_to_truth(calls, truth, reference, ploidy=2, pass_only=False)
    assert loose.counts["snp"] == ClassCounts(tp=3, fp=2, fn=2)


def test_compare_to_truth__tetraploid_dosage_concordance(reference, tmp_path):
    truth = write_vcf(tmp_path / "truth.vcf", ["A", "B"], [
        "c1 3 . T C . . . GT 0/0/0/1 0/1/1/1",
        "c1 8 . G A . . . GT 1/1/1/1 0/0/1/1",
    ])  # fmt: skip
    calls = write_vcf(tmp_path / "calls.vcf", ["A", "B"], [
        "c1 3 . T C . . . GT 0/0/0/1 0/0/1/1",  # B: dosage 2, truly 3
        "c1 8 . G A . . . GT 1/1/1/1 0/0/1/1",
    ])  # fmt: skip
    d = compare_to_truth(calls, truth, reference, ploidy=4).to_dict()
    assert (d["snp_tp"], d["snp_fp"], d["snp_fn"]) == (2, 0, 0)
    assert d["dosage_concordance"] == pytest.approx(3 / 4) and d["ploidy"] == 4
    assert d["n_genotypes_compared"] == 4
    with pytest.raises(InputFileError, match="6 alleles but ploidy is 4"):
        compare_to_truth(write_vcf(tmp_path / "hex.vcf", ["A", "B"], [
            "c1 3 . T C . . . GT 0/0/0/0/0/1 0/0/0/1/1/1",
        ]), truth, reference, ploidy=4)  # fmt: skip


@pytest.mark.parametrize("ploidy, error", [(0, ValueError), (2.0, TypeError), (None, TypeError)])
def test_compare_to_truth__bad_ploidy_is_refused(reference, tmp_path, ploidy, error):
    vcf = write_vcf(tmp_path / "a.vcf", ["A"], ["c1 3 . T C . . . GT 0/1"])
    with pytest.raises(error, match="ploidy"):
        compare_to_truth(vcf, vcf, reference, ploidy=ploidy)


def test_compare_to_truth__sites_only_truth(reference, tmp_path):
    truth = tmp_path / "sites.vcf"
    truth.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=c1,length=60>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "c1\t3\t.\tT\tC\t.\t.\t.\nc1\t8\t.\tG\tA\t.\t.\t.\n"
    )
    calls = write_vcf(tmp_path / "calls.vcf", ["A"], ["c1 3 . T C . . . GT 0/1"])
    d = compare_to_truth(calls, truth, reference, ploidy=2).to_dict()
    assert (d["snp_tp"], d["snp_fn"], d["n_samples_compared"]) == (1, 1, 0)
    assert d["genotype_concordance"] is None
