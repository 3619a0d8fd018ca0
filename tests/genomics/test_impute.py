"""Tests of genomics.impute: LD-kNNi, the frequency method, beagle, VCF in and out."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pysam
import pytest

from breedhub.genomics.exceptions import InputFileError, ToolError
from breedhub.genomics.impute import impute_genotypes, impute_vcf, masked_accuracy
from breedhub.genomics.simulate_pedigree import gene_drop


def population(ploidy: int, n: int = 80, markers: int = 600, chromosomes: int = 2, seed: int = 5):
    """Unrelated individuals whose homologues are mosaics of a pool of 30 haplotypes."""
    ids = [f"s{i}" for i in range(n)]
    return gene_drop(
        ids, [None] * n, [None] * n, ploidy=ploidy, n_markers=markers,
        n_chromosomes=chromosomes, seed=seed,
    )  # fmt: skip


def breeding_population(
    ploidy: int, *, n: int = 80, markers: int = 600, chromosomes: int = 2, seed: int = 5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gt, contig, position) of the third generation of random mating from six founders.

    Haplotype blocks shared by descent from few founders put nearby markers
    in linkage disequilibrium, as in a breeding population.
    """
    rng = np.random.default_rng(seed)
    ids, mothers, fathers = [f"f{i}" for i in range(6)], [None] * 6, [None] * 6
    parents = list(ids)
    for generation, size in enumerate((40, 40, n)):
        current = []
        for i in range(size):
            mother, father = rng.choice(parents, 2, replace=False)
            current.append(f"g{generation}_{i}")
            mothers.append(str(mother))
            fathers.append(str(father))
        ids += current
        parents = current
    sim = gene_drop(
        ids, mothers, fathers, ploidy=ploidy, n_markers=markers,
        n_chromosomes=chromosomes, seed=seed,
    )  # fmt: skip
    return sim.genotype_calls[:, -n:], sim.chrom, sim.pos_bp


def with_missing(gt: np.ndarray, rate: float, seed: int = 0) -> np.ndarray:
    out = gt.copy()
    out[np.random.default_rng(seed).random(gt.shape[:2]) < rate] = -1
    return out


def write_vcf(path: Path, gt: np.ndarray, chrom, pos, *, depth: bool = True) -> Path:
    """Plain-text VCF with GT (and DP when asked), bgzipped when the name ends in .gz."""
    n = gt.shape[1]
    lines = [
        "##fileformat=VCFv4.2",
        *(f"##contig=<ID={c}>" for c in dict.fromkeys(map(str, chrom))),
        '##INFO=<ID=NOTE,Number=1,Type=String,Description="A field to keep">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
        + "\t".join(f"s{i}" for i in range(n)),
    ]
    for v in range(gt.shape[0]):
        calls = []
        for s in range(n):
            call = "/".join("." if a < 0 else str(a) for a in gt[v, s])
            calls.append(f"{call}:{(v + s) % 30 + 1}" if depth else call)
        fmt = "GT:DP" if depth else "GT"
        lines.append(
            f"{chrom[v]}\t{pos[v]}\trs{v}\tA\tT\t50\tPASS\tNOTE=v{v}\t{fmt}\t" + "\t".join(calls)
        )
    text = "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        plain = path.with_suffix("")
        plain.write_text(text)
        pysam.tabix_compress(str(plain), str(path), force=True)
    else:
        path.write_text(text)
    return path


def read_gt(path: Path) -> tuple[list[tuple], list[dict], list[list[int | None]]]:
    gts, infos, dps = [], [], []
    with pysam.VariantFile(str(path)) as vf:
        for rec in vf:
            gts.append([s["GT"] for s in rec.samples.values()])
            infos.append((rec.id, dict(rec.info)))
            dps.append([s["DP"] if "DP" in rec.format else None for s in rec.samples.values()])
    return gts, infos, dps


@pytest.mark.parametrize("ploidy", [2, 4])
def test_impute_genotypes__ldknni_beats_frequency_on_linked_data(ploidy):
    gt, contig, position = breeding_population(ploidy)
    acc = masked_accuracy(gt, contig=contig, position=position, fraction=0.05, seed=1)
    ld, freq = acc["methods"]["ldknni"]["accuracy"], acc["methods"]["frequency"]["accuracy"]
    # Measured: diploid 0.91-0.93 against 0.77-0.81; tetraploid 0.75-0.79 against 0.67-0.71.
    assert ld > freq + (0.08 if ploidy == 2 else 0.04)
    assert ld > (0.88 if ploidy == 2 else 0.72)


@pytest.mark.parametrize("ploidy", [1, 2, 4, 6])
def test_impute_genotypes__fills_every_missing_call_and_keeps_called_ones(ploidy):
    sim = population(ploidy, n=40, markers=300)
    gt = with_missing(sim.genotype_calls, 0.1)
    gt[5, 3, 0] = -1  # a half-missing call counts as missing
    if ploidy > 1:
        gt[6, 4, 1:] = -1
    res = impute_genotypes(gt, contig=sim.chrom, position=sim.pos_bp)
    missing = (gt < 0).any(axis=2)
    assert (res.gt >= 0).all() and res.gt.dtype == np.int8
    assert np.array_equal(res.imputed, missing)
    assert np.array_equal(res.gt[~missing], gt[~missing])
    assert res.dosage.min() >= 0 and res.dosage.max() <= ploidy
    # Imputed calls are written as sorted alleles 0...0 1...1.
    assert (np.diff(res.gt[missing].astype(int), axis=1) >= 0).all()
    assert set(np.unique(res.gt[missing])) <= {0, 1}
    assert res.method == "ldknni"


def test_impute_genotypes__dosage_becomes_sorted_tetraploid_alleles():
    d = np.array([[0, 0, 2, -1, 2], [0, 0, 2, 2, 2], [1, 1, 3, 3, 3]])
    gt = (np.arange(4) >= 4 - np.maximum(d, 0)[..., None]).astype(np.int8)
    gt[d < 0] = -1
    res = impute_genotypes(gt, contig=["a"] * 3, position=[10, 20, 30], k=3)
    assert res.gt[0, 3].tolist() == [0, 0, 1, 1]
    assert res.imputed.sum() == 1 and res.n_fallback == 0


def test_impute_genotypes__frequency_takes_the_most_common_dosage():
    d = np.array([[0, 1, 1, 2, -1, -1], [2, 2, 0, -1, 2, -1]])
    gt = (np.arange(2) >= 2 - np.maximum(d, 0)[..., None]).astype(np.int8)
    gt[d < 0] = -1
    res = impute_genotypes(gt, contig=[1, 1], position=[1, 2], method="frequency")
    assert res.dosage[0, 4:].tolist() == [1, 1]
    assert res.dosage[1, [3, 5]].tolist() == [2, 2]
    assert res.method == "frequency"


def test_impute_genotypes__falls_back_to_frequency_without_neighbours():
    # One marker per contig: no LD markers, so every call takes the marker's mode.
    d = np.array([[0, 0, 2, -1], [2, 2, 1, -1]])
    gt = (np.arange(2) >= 2 - np.maximum(d, 0)[..., None]).astype(np.int8)
    gt[d < 0] = -1
    res = impute_genotypes(gt, contig=["1", "2"], position=[5, 5])
    assert res.dosage[:, 3].tolist() == [0, 2]
    assert res.n_fallback == 2
    # A marker nobody is called at gets dosage 0.
    gt[1] = -1
    assert impute_genotypes(gt, contig=["1", "2"], position=[5, 5]).dosage[1].tolist() == [0] * 4


def test_impute_genotypes__keeps_the_input_order():
    sim = population(2, n=30, markers=200)
    gt = with_missing(sim.genotype_calls, 0.05)
    shuffle = np.random.default_rng(3).permutation(gt.shape[0])
    a = impute_genotypes(gt, contig=sim.chrom, position=sim.pos_bp)
    b = impute_genotypes(gt[shuffle], contig=sim.chrom[shuffle], position=sim.pos_bp[shuffle])
    assert np.array_equal(a.gt[shuffle], b.gt)


def test_impute_genotypes__rejects_bad_input():
    gt = np.zeros((3, 4, 2), np.int8)
    site = dict(contig=["1"] * 3, position=[1, 2, 3])
    with pytest.raises(TypeError, match="numpy array"):
        impute_genotypes(gt.tolist(), **site)
    with pytest.raises(ValueError, match="variants, samples, ploidy"):
        impute_genotypes(gt[:, :, 0], **site)
    with pytest.raises(ValueError, match="ploidy=4"):
        impute_genotypes(gt, ploidy=4, **site)
    with pytest.raises(ValueError, match="method"):
        impute_genotypes(gt, method="mean", **site)
    with pytest.raises(ValueError, match="k must be at least 1"):
        impute_genotypes(gt, k=0, **site)
    with pytest.raises(ValueError, match="contig"):
        impute_genotypes(gt, contig=["1"], position=[1, 2, 3])
    with pytest.raises(ValueError, match="below -1"):
        impute_genotypes(gt - 2, **site)


def test_masked_accuracy__reports_sensible_numbers():
    sim = population(4, n=50, markers=300)
    gt = with_missing(sim.genotype_calls, 0.02)
    acc = masked_accuracy(
        gt, contig=sim.chrom, position=sim.pos_bp, fraction=0.1, seed=2, k=7, window=50
    )
    n_called = int((gt >= 0).all(axis=2).sum())
    assert acc["n_masked"] == round(0.1 * n_called)
    assert acc["fraction"] == 0.1 and acc["seed"] == 2
    for m in ("ldknni", "frequency"):
        res = acc["methods"][m]
        assert 0.3 < res["accuracy"] <= 1.0 and res["seconds"] >= 0
        assert set(res["by_dosage"]) <= {"0", "1", "2", "3", "4"}
        assert all(0 <= v <= 1 for v in res["by_dosage"].values())
    # The same seed hides the same calls.
    again = masked_accuracy(
        gt, contig=sim.chrom, position=sim.pos_bp, fraction=0.1, seed=2, k=7, window=50
    )
    assert again["methods"]["ldknni"]["accuracy"] == acc["methods"]["ldknni"]["accuracy"]
    with pytest.raises(ValueError, match="fraction"):
        masked_accuracy(gt, contig=sim.chrom, position=sim.pos_bp, fraction=1.5)
    with pytest.raises(ValueError, match="methods"):
        masked_accuracy(gt, contig=sim.chrom, position=sim.pos_bp, methods=("mean",))


@pytest.mark.slow
def test_impute_genotypes__200_samples_by_10000_markers_in_seconds():
    # 200 x 20,000 at 5% missing took 4-5 s on one core (numpy, no numba).
    sim = population(2, n=200, markers=10_000, chromosomes=5, seed=8)
    gt = with_missing(sim.genotype_calls, 0.05)
    t0 = time.perf_counter()
    res = impute_genotypes(gt, contig=sim.chrom, position=sim.pos_bp)
    seconds = time.perf_counter() - t0
    assert (res.gt >= 0).all()
    assert seconds < 30, f"LD-kNNi took {seconds:.1f} s"


@pytest.mark.parametrize("ploidy", [2, 4])
def test_impute_vcf__sets_missing_gts_and_keeps_the_rest(tmp_path, ploidy):
    gt, contig, position = breeding_population(ploidy, n=50, markers=300, seed=ploidy)
    gt = with_missing(gt, 0.08, seed=ploidy)
    chrom = np.array([f"chr{c}" for c in contig])
    vcf = write_vcf(tmp_path / "in.vcf.gz", gt, chrom, position)
    out = tmp_path / "out.vcf.gz"
    rep = impute_vcf(vcf, out, ploidy=ploidy, report_json=tmp_path / "imp.json", seed=1)
    missing = (gt < 0).any(axis=2)
    assert rep.method == "ldknni" and rep.n_missing == rep.n_imputed == int(missing.sum())
    assert rep.imputed_per_contig == {
        c: int(missing[chrom == c].sum()) for c in dict.fromkeys(chrom.tolist())
    }
    gts, infos, dps = read_gt(out)
    in_gts, in_infos, in_dps = read_gt(vcf)
    assert infos == in_infos and dps == in_dps  # other fields kept
    arr = np.array(gts)
    assert arr.shape == gt.shape and (arr >= 0).all()
    assert np.array_equal(arr[~missing], gt[~missing])
    assert Path(f"{out}.tbi").exists()
    saved = json.loads((tmp_path / "imp.json").read_text())
    assert saved["n_imputed"] == rep.n_imputed
    methods = saved["accuracy"]["methods"]
    assert set(methods) == {"ldknni", "frequency"}
    assert methods["ldknni"]["accuracy"] >= methods["frequency"]["accuracy"]
    assert saved["provenance"]["parameters"]["method"] == "ldknni"


def test_impute_vcf__matches_impute_genotypes(tmp_path):
    sim = population(2, n=30, markers=150)
    gt = with_missing(sim.genotype_calls, 0.05)
    vcf = write_vcf(tmp_path / "in.vcf", gt, sim.chrom, sim.pos_bp, depth=False)
    impute_vcf(vcf, tmp_path / "o.vcf.gz", ploidy=2)
    direct = impute_genotypes(gt, contig=sim.chrom, position=sim.pos_bp)
    assert np.array_equal(np.array(read_gt(tmp_path / "o.vcf.gz")[0]), direct.gt)


def test_impute_vcf__rejects_bad_arguments(tmp_path):
    sim = population(4, n=10, markers=20)
    vcf = write_vcf(tmp_path / "in.vcf", sim.genotype_calls, sim.chrom, sim.pos_bp)
    out = tmp_path / "o.vcf.gz"
    with pytest.raises(ValueError, match="method"):
        impute_vcf(vcf, out, ploidy=4, method="mean")
    with pytest.raises(InputFileError, match="more than ploidy=2"):
        impute_vcf(vcf, out, ploidy=2)
    with pytest.raises(InputFileError, match="no such file"):
        impute_vcf(tmp_path / "none.vcf", out, ploidy=4)
    with pytest.raises(ToolError, match="diploid"):
        impute_vcf(vcf, out, ploidy=4, method="beagle")
    assert not out.exists()


def test_impute_genotypes__beagle_missing_is_a_tool_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    gt = np.zeros((3, 4, 2), np.int8)
    with pytest.raises(ToolError, match="not on PATH"):
        impute_genotypes(gt, contig=["1"] * 3, position=[1, 2, 3], method="beagle")


@pytest.mark.skipif(shutil.which("beagle") is None, reason="beagle is not installed")
def test_impute_vcf__beagle_imputes_diploids(tmp_path):
    gt, contig, position = breeding_population(2, n=60, markers=300, chromosomes=1)
    gt = with_missing(gt, 0.05)
    vcf = write_vcf(tmp_path / "in.vcf.gz", gt, contig, position)
    out = tmp_path / "b.vcf.gz"
    rep = impute_vcf(vcf, out, ploidy=2, method="beagle", seed=3, threads=1)
    missing = (gt < 0).any(axis=2)
    arr = np.array(read_gt(out)[0])
    assert (arr >= 0).all() and np.array_equal(arr[~missing], gt[~missing])
    assert rep.method == "beagle" and rep.n_imputed == int(missing.sum())
    methods = rep.accuracy["methods"]
    assert methods["beagle"]["accuracy"] > methods["frequency"]["accuracy"] + 0.05
