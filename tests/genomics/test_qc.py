"""Tests of genomics.qc: sample and variant filters, HWE, the report."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pysam
import pytest

from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.qc import filter_vcf
from breedhub.genomics.qc_stats import hwe_exact_test

HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=chr1>",
    "##contig=<ID=chr2>",
    '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">',
    '##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
]


def write_vcf(path: Path, samples, chrom, pos, qual, gt, dp=None, *, bgzip=False) -> Path:
    """Plain-text VCF from arrays: gt (variants, samples, ploidy), -1 missing."""
    header = [h for h in HEADER if dp is not None or "ID=DP" not in h]
    lines = [*header, "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"])]
    lines[-1] += "\tFORMAT\t" + "\t".join(samples)
    for v in range(gt.shape[0]):
        calls = []
        for s in range(gt.shape[1]):
            g = gt[v, s]
            call = "/".join("." if a < 0 else str(a) for a in g)
            calls.append(call if dp is None else f"{call}:{dp[v, s]}")
        an = int((gt[v] >= 0).sum())
        ac = int((gt[v] == 1).sum())
        fmt = "GT" if dp is None else "GT:DP"
        lines.append(
            f"{chrom[v]}\t{pos[v]}\t.\tA\tG\t{qual[v]}\tPASS\tAC={ac};AN={an}\t{fmt}\t"
            + "\t".join(calls)
        )
    text = "\n".join(lines) + "\n"
    if not bgzip:
        path.write_text(text)
        return path
    plain = path.with_suffix("")
    plain.write_text(text)
    pysam.tabix_compress(str(plain), str(path), force=True)
    return path


def read_out(path: Path) -> tuple[list[str], list[tuple[str, int]], list[list[tuple]], list[dict]]:
    with pysam.VariantFile(str(path)) as vf:
        samples = list(vf.header.samples)
        sites, gts, infos = [], [], []
        for rec in vf:
            sites.append((rec.contig, rec.pos))
            gts.append([rec.samples[s]["GT"] for s in samples])
            infos.append(dict(rec.info))
    return samples, sites, gts, infos


def planted(ploidy: int = 2, n_samples: int = 40, n_good: int = 120, seed: int = 1):
    """Good variants in Hardy-Weinberg proportions plus planted bad ones.

    Returns the arrays and, per planted variant index, its reasons.
    """
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.25, 0.75, size=n_good)
    gt = (rng.random((n_good, n_samples, ploidy)) < p[:, None, None]).astype(np.int8)
    gt.sort(axis=2)
    qual = np.full(n_good, 60.0)
    dp = rng.integers(12, 30, size=(n_good, n_samples))
    bad: dict[int, list[str]] = {}

    def add(g, q=60.0, d=None, reasons=()):
        nonlocal gt, qual, dp
        gt = np.concatenate([gt, g[None]])
        qual = np.append(qual, q)
        dp = np.concatenate([dp, (d if d is not None else np.full(n_samples, 20))[None]])
        bad[len(qual) - 1] = list(reasons)

    half = (np.arange(ploidy) >= ploidy // 2).astype(np.int8)  # 0/1 or 0/0/1/1
    mixed = np.where(rng.random((n_samples, 1)) < 0.5, half, 0).astype(np.int8)
    add(mixed, q=5.0, reasons=["qual"])
    g = mixed.copy()
    g[: n_samples // 2] = -1
    add(g, reasons=["call_rate"])
    add(np.zeros((n_samples, ploidy), np.int8), reasons=["maf"])
    add(np.zeros((n_samples, ploidy), np.int8), q=3.0, reasons=["qual", "maf"])
    add(mixed, d=np.full(n_samples, 2), reasons=["low_depth"])
    add(mixed, d=np.full(n_samples, 500), reasons=["high_depth"])
    add(np.broadcast_to(half, (n_samples, ploidy)).copy(), reasons=["hwe"] if ploidy == 2 else [])
    # Shuffle the planted variants among the good ones.
    order = rng.permutation(len(qual))
    gt, qual, dp = gt[order], qual[order], dp[order]
    new_index = {int(old): i for i, old in enumerate(order)}
    bad = {new_index[k]: v for k, v in bad.items()}
    samples = [f"s{i:02d}" for i in range(n_samples)]
    # Planted bad samples.
    gt[:, 3][rng.random(len(qual)) < 0.5] = -1  # s03: half missing
    het_sites = rng.random(len(qual)) < 0.9
    gt[het_sites, 7] = half  # s07: heterozygous nearly everywhere
    dp[:, 11] = 3  # s11: shallow
    bad_samples = {"s03": ["missing"], "s07": ["het"], "s11": ["depth"]}
    chrom = np.where(np.arange(len(qual)) < len(qual) // 2, "chr1", "chr2")
    pos = np.concatenate([np.arange(1, 1 + (chrom == c).sum()) * 100 for c in ("chr1", "chr2")])
    return samples, chrom, pos, qual, gt, dp, bad, bad_samples


THRESHOLDS = dict(
    min_qual=20.0,
    min_depth=5.0,
    max_depth=100.0,
    min_call_rate=0.9,
    min_maf=0.05,
    hwe_p=1e-6,
    max_sample_missing=0.2,
    max_sample_het=0.8,
    min_sample_depth=5.0,
)


@pytest.fixture
def diploid(tmp_path):
    samples, chrom, pos, qual, gt, dp, bad, bad_samples = planted()
    vcf = write_vcf(tmp_path / "in.vcf.gz", samples, chrom, pos, qual, gt, dp, bgzip=True)
    return vcf, samples, chrom, pos, gt, bad, bad_samples


def test_filter_vcf__removes_exactly_the_planted_variants_and_samples(diploid, tmp_path):
    vcf, samples, chrom, pos, gt, bad, bad_samples = diploid
    out = tmp_path / "out" / "kept.vcf.gz"
    report = filter_vcf(
        vcf,
        out,
        ploidy=2,
        report_json=tmp_path / "qc.json",
        report_html=tmp_path / "qc.html",
        **THRESHOLDS,
    )
    expected = {r: 0 for r in ("qual", "low_depth", "high_depth", "call_rate", "maf", "hwe")}
    for reasons in bad.values():
        for r in reasons:
            expected[r] += 1
    expected["total"] = len(bad)
    assert report.variants_removed == expected
    assert expected["qual"] == 2 and expected["maf"] == 2 and expected["total"] == 7
    assert report.samples_removed == bad_samples
    assert report.samples_kept == [s for s in samples if s not in bad_samples]
    assert report.n_variants_in == len(pos)
    assert report.n_variants_kept == len(pos) - len(bad)
    assert report.hwe_applied and report.depth_source == "FORMAT/DP"

    out_samples, sites, gts, infos = read_out(out)
    assert out_samples == report.samples_kept
    kept = [i for i in range(len(pos)) if i not in bad]
    assert sites == [(str(chrom[i]), int(pos[i])) for i in kept]
    # Genotypes of the kept samples are copied unchanged; AC/AN recomputed for them.
    cols = [samples.index(s) for s in out_samples]
    for row, i in zip(gts, kept, strict=True):
        assert row == [tuple(None if a < 0 else int(a) for a in gt[i, c]) for c in cols]
    for info, i in zip(infos, kept, strict=True):
        assert info["AN"] == int((gt[i][cols] >= 0).sum())
        assert info["AC"] == (int((gt[i][cols] == 1).sum()),)
    assert Path(f"{out}.tbi").exists()

    saved = json.loads((tmp_path / "qc.json").read_text())
    assert saved["variants_removed"] == expected
    assert saved["samples_removed"] == bad_samples
    assert saved["thresholds"]["hwe_p"] == 1e-6
    assert saved["provenance"]["tool"] == "breedhub" and saved["provenance"]["inputs"][0]["sha256"]
    page = (tmp_path / "qc.html").read_text()
    for word in ("call_rate", "low_depth", "high_depth", "hwe", "maf", "qual"):
        assert word in page
    for sample in bad_samples:
        assert sample in page
    assert "missingness" in page and "heterozygosity" in page and "mean depth" in page
    assert page.count("data:image/png;base64,") == 6
    assert "<link" not in page and "<script" not in page  # self-contained


def test_filter_vcf__chunked_reading_gives_the_same_result(diploid, tmp_path):
    vcf = diploid[0]
    a = filter_vcf(vcf, tmp_path / "a.vcf.gz", ploidy=2, **THRESHOLDS)
    b = filter_vcf(vcf, tmp_path / "b.vcf.gz", ploidy=2, chunk_length=7, **THRESHOLDS)
    assert a.variants_removed == b.variants_removed
    assert a.samples_removed == b.samples_removed
    for name, dist in a.distributions.items():
        other = b.distributions[name]
        assert (dist["all"], dist["kept"], dist["n"]) == (other["all"], other["kept"], other["n"])
        assert dist["mean"] == pytest.approx(other["mean"])
    assert read_out(tmp_path / "a.vcf.gz") == read_out(tmp_path / "b.vcf.gz")


def test_filter_vcf__distributions_count_every_variant(diploid, tmp_path):
    vcf, *_, bad, _ = diploid
    r = filter_vcf(vcf, tmp_path / "o.vcf.gz", ploidy=2, **THRESHOLDS)
    for name in ("qual", "call_rate", "maf", "depth"):
        dist = r.distributions[name]
        assert sum(dist["all"]) == r.n_variants_in
        assert sum(dist["kept"]) == r.n_variants_kept
        assert len(dist["bins"]) == len(dist["all"])
    assert r.distributions["qual"]["min"] == 3.0
    assert r.distributions["maf"]["max"] <= 0.5


def test_filter_vcf__tetraploid_skips_hwe_and_uses_ploidy_for_maf(tmp_path):
    samples, chrom, pos, qual, gt, dp, bad, _ = planted(ploidy=4, n_good=60, seed=2)
    # One alternate allele in 40 tetraploids: MAF 1/160 < 0.01 (1/80 if ploidy were 2).
    singleton = np.zeros((len(samples), 4), np.int8)
    singleton[5] = [0, 0, 0, 1]
    gt = np.concatenate([gt, singleton[None]])
    qual = np.append(qual, 60.0)
    dp = np.concatenate([dp, np.full((1, len(samples)), 20)])
    chrom = np.append(chrom, "chr2")
    pos = np.append(pos, pos.max() + 100)
    gt[:, [3, 7]] = gt[:, [0, 1]]  # no planted bad samples here
    dp[:, 11] = 20
    vcf = write_vcf(tmp_path / "tetra.vcf", samples, chrom, pos, qual, gt, dp)
    r = filter_vcf(
        vcf, tmp_path / "t.vcf.gz", ploidy=4, min_maf=0.01, report_html=tmp_path / "t.html"
    )
    assert not r.hwe_applied and r.variants_removed["hwe"] == 0
    assert any("Hardy-Weinberg test not applied" in n and "ploidy is 4" in n for n in r.notes)
    assert "Hardy-Weinberg test not applied" in (tmp_path / "t.html").read_text()
    assert r.variants_removed["maf"] == 2 + 1  # the two monomorphic ones and the singleton
    # The all-duplex site (0/0/1/1 everywhere) that fails HWE in diploids is kept.
    _, sites, gts, _ = read_out(tmp_path / "t.vcf.gz")
    assert any(set(row) == {(0, 0, 1, 1)} for row in gts)
    assert r.samples_removed == {}


@pytest.mark.parametrize("ploidy", [1, 6])
def test_filter_vcf__other_ploidies_read_whole_genotypes(tmp_path, ploidy):
    rng = np.random.default_rng(ploidy)
    gt = (rng.random((30, 10, ploidy)) < 0.5).astype(np.int8)
    gt.sort(axis=2)
    gt[0, :5] = -1  # call rate 0.5
    vcf = write_vcf(
        tmp_path / "x.vcf", [f"s{i}" for i in range(10)], ["chr1"] * 30, np.arange(1, 31) * 10,
        [50.0] * 30, gt,
    )  # fmt: skip
    r = filter_vcf(vcf, tmp_path / "x.vcf.gz", ploidy=ploidy, max_sample_missing=None, min_maf=None)
    assert r.variants_removed["call_rate"] == 1 and r.variants_removed["total"] == 1
    het = (gt[:, 0] != gt[:, 0, :1]).any(axis=1)[1:].mean() if ploidy > 1 else 0.0
    assert r.sample_stats["s0"]["het"] == pytest.approx(het)


def test_filter_vcf__info_depth_when_no_format_depth(tmp_path):
    gt = np.zeros((3, 4, 2), np.int8)
    gt[:, :2, 1] = 1
    lines = [
        "##fileformat=VCFv4.2",
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Total depth">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\td",
    ]
    for i, total in enumerate([80, 8, 800]):
        lines.append(f"1\t{10 * (i + 1)}\t.\tA\tC\t50\t.\tDP={total}\tGT\t0/1\t0/1\t0/0\t0/0")
    vcf = tmp_path / "info.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    r = filter_vcf(vcf, tmp_path / "i.vcf.gz", ploidy=2, min_depth=5, max_depth=100)
    assert r.depth_source == "INFO/DP"
    assert r.variants_removed["low_depth"] == 1 and r.variants_removed["high_depth"] == 1
    assert r.sample_stats["a"]["depth"] is None


def test_filter_vcf__nothing_applies_when_thresholds_are_none(diploid, tmp_path):
    vcf = diploid[0]
    none = dict.fromkeys(THRESHOLDS)
    r = filter_vcf(vcf, tmp_path / "n.vcf.gz", ploidy=2, **none)
    assert r.variants_removed["total"] == 0 and r.samples_removed == {}
    assert not r.hwe_applied


def test_filter_vcf__rejects_bad_arguments(diploid, tmp_path):
    vcf = diploid[0]
    out = tmp_path / "o.vcf.gz"
    with pytest.raises(TypeError, match="ploidy"):
        filter_vcf(vcf, out, ploidy="2")
    with pytest.raises(ValueError, match="ploidy"):
        filter_vcf(vcf, out, ploidy=0)
    with pytest.raises(ValueError, match="min_call_rate"):
        filter_vcf(vcf, out, ploidy=2, min_call_rate=1.5)
    with pytest.raises(ValueError, match="min_maf"):
        filter_vcf(vcf, out, ploidy=2, min_maf=0.7)
    with pytest.raises(ValueError, match="min_depth"):
        filter_vcf(vcf, out, ploidy=2, min_depth=10, max_depth=5)
    with pytest.raises(ValueError, match=r"\.vcf\.gz"):
        filter_vcf(vcf, tmp_path / "o.vcf", ploidy=2)
    with pytest.raises(InputFileError, match="no such file"):
        filter_vcf(tmp_path / "missing.vcf", out, ploidy=2)
    assert not out.exists()


def test_filter_vcf__wrong_ploidy_is_reported(diploid, tmp_path):
    vcf = diploid[0]
    with pytest.raises(InputFileError, match="ploidy=4"):
        filter_vcf(vcf, tmp_path / "o.vcf.gz", ploidy=4)
    samples, chrom, pos, qual, gt, dp, *_ = planted(ploidy=4, n_good=10)
    tetra = write_vcf(tmp_path / "t.vcf", samples, chrom, pos, qual, gt, dp)
    with pytest.raises(InputFileError, match="more than ploidy=2"):
        filter_vcf(tetra, tmp_path / "o.vcf.gz", ploidy=2)
    assert not (tmp_path / "o.vcf.gz").exists()


def test_filter_vcf__depth_filter_without_depth_is_refused(tmp_path):
    gt = np.zeros((2, 3, 2), np.int8)
    vcf = write_vcf(tmp_path / "nodp.vcf", ["a", "b", "c"], ["chr1"] * 2, [1, 2], [50, 50], gt)
    with pytest.raises(InputFileError, match="min_sample_depth needs FORMAT/DP"):
        filter_vcf(vcf, tmp_path / "o.vcf.gz", ploidy=2, min_sample_depth=5)
    with pytest.raises(InputFileError, match="FORMAT/DP or INFO/DP"):
        filter_vcf(vcf, tmp_path / "o.vcf.gz", ploidy=2, min_depth=5)


def test_filter_vcf__all_samples_failing_is_an_error_and_writes_nothing(tmp_path):
    gt = np.full((4, 3, 2), -1, np.int8)
    gt[0] = 0
    vcf = write_vcf(tmp_path / "m.vcf", ["a", "b", "c"], ["chr1"] * 4, [1, 2, 3, 4], [50] * 4, gt)
    out = tmp_path / "o.vcf.gz"
    with pytest.raises(InputFileError, match="all 3 samples fail"):
        filter_vcf(vcf, out, ploidy=2)
    assert not out.exists() and not Path(f"{out}.tbi").exists()


def test_filter_vcf__header_without_contigs(tmp_path):
    text = (
        "##fileformat=VCFv4.2\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\n"
        "chrA\t5\t.\tA\tC\t50\t.\t.\tGT\t0/1\t0/0\n"
        "chrB\t7\t.\tA\tC\t50\t.\t.\tGT\t1/1\t0/1\n"
    )
    (tmp_path / "c.vcf").write_text(text)
    filter_vcf(tmp_path / "c.vcf", tmp_path / "c.vcf.gz", ploidy=2, min_maf=None)
    _, sites, _, _ = read_out(tmp_path / "c.vcf.gz")
    assert sites == [("chrA", 5), ("chrB", 7)]
    with gzip.open(tmp_path / "c.vcf.gz", "rt") as fh:
        assert "##breedhub_filter_vcf=" in fh.read()


def test_hwe_exact_test__hand_computed_tables():
    # Four diploids, four copies of each allele: P(0, 2, 4 hets) = 3/35, 24/35, 8/35.
    p = hwe_exact_test([2, 1, 0, 2], [0, 2, 4, 0], [2, 1, 0, 2])
    assert p == pytest.approx([3 / 35, 1.0, 11 / 35, 3 / 35])
    # Three diploids, three copies of each allele: P(1 het) = 0.6, P(3 hets) = 0.4.
    assert hwe_exact_test(0, 3, 0) == pytest.approx([0.4])
    assert hwe_exact_test(1, 1, 1) == pytest.approx([1.0])
    # Symmetric in the two homozygote classes; 1.0 for nothing counted or monomorphic.
    assert hwe_exact_test([10, 1], [3, 3], [1, 10]) == pytest.approx(
        hwe_exact_test([1, 10], [3, 3], [10, 1])
    )
    assert hwe_exact_test([0, 40], [0, 0], [0, 0]).tolist() == [1.0, 1.0]


def test_hwe_exact_test__sums_to_one_over_all_tables():
    # For n=20 and 14 copies of the rarer allele, every table's p is the sum of
    # the probabilities no larger than its own; the largest-probability table has p=1.
    n, rare = 20, 14
    hets = np.arange(0, rare + 1, 2)
    homs = (rare - hets) // 2
    p = hwe_exact_test(homs, hets, n - hets - homs)
    assert p.max() == pytest.approx(1.0) and (p > 0).all()
    assert np.sort(p)[0] < 1e-3


def test_hwe_exact_test__rejects_negative_counts():
    with pytest.raises(ValueError, match="non-negative"):
        hwe_exact_test([-1], [2], [3])
    with pytest.raises(ValueError, match="equal length"):
        hwe_exact_test([1, 2], [2], [3])
