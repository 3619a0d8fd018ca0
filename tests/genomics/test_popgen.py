"""Tests of genomics.popgen: frequencies, heterozygosity, PCA, LD decay, the report."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from breedhub.genomics.exceptions import InputFileError
from breedhub.genomics.popgen import (
    allele_frequencies,
    heterozygosity,
    ld_decay,
    pca,
)
from breedhub.genomics.popgen_report import population_report
from breedhub.genomics.simulate_pedigree import gene_drop
from breedhub.genomics.store import write_genotype_store

# Two variants, three tetraploids; worked by hand below.
TETRA = np.array(
    [
        [[0, 0, 0, 0], [0, 0, 1, 1], [1, 1, 1, 1]],
        [[0, 0, 0, 1], [-1, -1, -1, -1], [0, 0, 0, 0]],
    ],
    dtype=np.int8,
)


def two_populations(ploidy: int, per_group: int = 30, markers: int = 400, seed: int = 2):
    """Two closed breeding populations (three founders each), two generations of mating."""
    rng = np.random.default_rng(seed)
    ids, mothers, fathers, group = [], [], [], []
    for g in ("A", "B"):
        founders = [f"{g}f{i}" for i in range(3)]
        ids += founders
        mothers += [None] * 3
        fathers += [None] * 3
        group += [None] * 3
        parents = founders
        for generation in range(2):
            current = [f"{g}{generation}_{i}" for i in range(per_group)]
            for name in current:
                m, f = rng.choice(parents, 2, replace=False)
                ids.append(name)
                mothers.append(str(m))
                fathers.append(str(f))
                group.append(g if generation == 1 else None)
            parents = current
    sim = gene_drop(
        ids, mothers, fathers, ploidy=ploidy, n_markers=markers, n_chromosomes=2, seed=seed
    )
    last = [i for i, g in enumerate(group) if g is not None]
    return sim, last, np.array([group[i] for i in last])


def test_allele_frequencies__hand_computed_tetraploid():
    # Variant 0: 0 + 2 + 4 alternate alleles of 12; variant 1: 1 of 8 (one sample missing).
    assert allele_frequencies(TETRA).tolist() == [0.5, 0.125]
    dosage = np.array([[0, 2, 4], [1, -1, 0]])
    assert allele_frequencies(dosage, ploidy=4).tolist() == [0.5, 0.125]
    assert allele_frequencies(np.where(dosage < 0, np.nan, dosage), ploidy=4)[1] == 0.125
    assert np.isnan(allele_frequencies(np.full((1, 3, 4), -1, np.int8))[0])


def test_allele_frequencies__pools_alternate_alleles_and_checks_input():
    gt = np.array([[[0, 1], [2, 2], [0, 0]]], dtype=np.int8)
    assert allele_frequencies(gt).tolist() == [0.5]
    with pytest.raises(ValueError, match="pass ploidy"):
        allele_frequencies(np.array([[0, 1, 2]]))
    with pytest.raises(ValueError, match="above ploidy=2"):
        allele_frequencies(np.array([[0, 3]]), ploidy=2)
    with pytest.raises(ValueError, match="ploidy=2"):
        allele_frequencies(TETRA, ploidy=2)
    with pytest.raises(TypeError, match="numpy array"):
        allele_frequencies([[0, 1]])


def test_heterozygosity__hand_computed_tetraploid():
    h = heterozygosity(TETRA)
    # Samples: s0 hom, het -> 1/2; s1 het, missing -> 1/1; s2 hom, hom -> 0/2.
    assert h.sample_observed.tolist() == [0.5, 1.0, 0.0]
    # Variants: one het of three called; one het of two called.
    assert h.variant_observed.tolist() == pytest.approx([1 / 3, 1 / 2])
    # Expected: 1 - (0.5² + 0.5²) = 0.5; 1 - ((7/8)² + (1/8)²) = 14/64.
    assert h.variant_expected.tolist() == pytest.approx([0.5, 14 / 64])
    d = heterozygosity(np.array([[0, 2, 4], [1, -1, 0]]), ploidy=4)
    assert np.allclose(d.sample_observed, h.sample_observed)
    assert np.allclose(d.variant_expected, h.variant_expected)


@pytest.mark.parametrize("ploidy", [2, 4, 6])
def test_heterozygosity__dosage_and_genotypes_agree(ploidy):
    rng = np.random.default_rng(ploidy)
    gt = (rng.random((50, 20, ploidy)) < rng.random((50, 1, 1))).astype(np.int8)
    gt.sort(axis=2)
    gt[rng.random((50, 20)) < 0.1] = -1
    dosage = np.where((gt < 0).any(axis=2), -1, gt.sum(axis=2))
    a, b = heterozygosity(gt), heterozygosity(dosage, ploidy=ploidy)
    for name in ("sample_observed", "variant_observed", "variant_expected"):
        assert np.allclose(getattr(a, name), getattr(b, name), equal_nan=True)
    p = allele_frequencies(gt)
    assert np.allclose(a.variant_expected, 2 * p * (1 - p), equal_nan=True)


@pytest.mark.parametrize("ploidy", [2, 4])
def test_pca__separates_two_populations(ploidy):
    sim, rows, group = two_populations(ploidy)
    gt = sim.genotype_calls[:, rows]
    gt[np.random.default_rng(0).random(gt.shape[:2]) < 0.05] = -1
    res = pca(gt, n_components=4)
    assert res.coords.shape == (len(rows), 4)
    pc1 = res.coords[:, 0]
    a, b = pc1[group == "A"], pc1[group == "B"]
    assert a.max() < b.min() or b.max() < a.min()
    assert res.explained_variance_ratio[0] > res.explained_variance_ratio[1]
    # The same from the dosage matrix with its ploidy.
    dosage = np.where((gt < 0).any(axis=2), -1, (gt > 0).sum(axis=2))
    again = pca(dosage, n_components=4, ploidy=ploidy)
    assert np.allclose(np.abs(again.coords), np.abs(res.coords), atol=1e-6)


def test_pca__patterson_scaling_uses_the_ploidy():
    # Reference: centre each variant, divide by sqrt(p(1-p)) with p = mean / 4, SVD.
    rng = np.random.default_rng(4)
    dosage = rng.binomial(4, rng.uniform(0.1, 0.9, size=(60, 1)), size=(60, 15))
    res = pca(dosage, n_components=3, ploidy=4)
    p = dosage.mean(axis=1, keepdims=True) / 4
    z = (dosage - 4 * p) / np.sqrt(p * (1 - p))
    u, s, _ = np.linalg.svd(z.T, full_matrices=False)
    ref = u[:, :3] * s[:3]
    assert np.allclose(np.abs(res.coords), np.abs(ref), atol=1e-6)
    assert res.variants_used.all()


def test_pca__rejects_bad_options():
    dosage = np.array([[0, 1, 2], [2, 1, 0]])
    with pytest.raises(ValueError, match="pass ploidy"):
        pca(dosage)
    with pytest.raises(ValueError, match="scaler"):
        pca(dosage, ploidy=2, scaler="zscore")
    with pytest.raises(ValueError, match="n_components"):
        pca(dosage, ploidy=2, n_components=5)
    centred = pca(dosage, n_components=1, scaler=None)
    assert centred.coords.shape == (3, 1)


def test_ld_decay__decays_with_distance_on_linked_data():
    sim, rows, _ = two_populations(2, per_group=40, markers=600)
    gt = sim.genotype_calls[:, rows]
    res = ld_decay(gt, contig=sim.chrom, position=sim.pos_bp, n_bins=5, max_pairs=20_000)
    assert res.n_pairs.sum() <= 20_000 and (res.n_pairs > 0).all()
    r2 = res.mean_r2
    assert r2[0] > 2 * r2[-1]
    assert (np.diff(r2) < 0).sum() >= 3
    longest = max(np.ptp(sim.pos_bp[sim.chrom == c]) for c in (1, 2))
    assert res.bin_edges[-1] == longest // 2  # the default: half the longest contig
    same = ld_decay(gt, contig=sim.chrom, position=sim.pos_bp, n_bins=5, max_pairs=20_000)
    assert np.array_equal(same.mean_r2, r2)  # seeded


def test_ld_decay__counts_every_pair_within_contigs_when_few():
    rng = np.random.default_rng(1)
    dosage = rng.integers(0, 3, size=(6, 30))
    contig = ["a", "a", "a", "a", "b", "b"]
    position = [0, 100, 250, 1000, 50, 200]
    res = ld_decay(dosage, contig=contig, position=position, max_distance=300, n_bins=3, ploidy=2)
    # a: (0,100) (0,250) (100,250); b: (50,200). Distances 100, 250, 150, 150.
    assert res.n_pairs.tolist() == [0, 3, 1]
    # r² of one pair by hand.
    r = np.corrcoef(dosage[0], dosage[1])[0, 1]
    one = ld_decay(dosage[:2], contig=["a", "a"], position=[0, 100], max_distance=300, ploidy=2)
    assert np.nanmax(one.mean_r2) == pytest.approx(r**2)


@pytest.mark.parametrize("ploidy", [2, 4])
def test_population_report__from_an_hdf5_store(tmp_path, ploidy):
    sim, rows, _ = two_populations(ploidy, per_group=15, markers=200)
    samples = [sim.ids[i] for i in rows]
    gt = sim.genotype_calls[:, rows]
    h5 = write_genotype_store(
        tmp_path / "g.h5", samples=samples, chrom=sim.chrom, pos=sim.pos_bp, gt=gt
    )
    rep = population_report(h5, tmp_path / "pop", max_pairs=5000)
    out = tmp_path / "pop"
    for name in ("afs.png", "heterozygosity.png", "pca.png", "ld_decay.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((out / "popgen.json").read_text())
    assert saved == rep
    assert rep["ploidy"] == ploidy and rep["n_samples"] == 30 and rep["n_variants"] == 200
    assert sum(rep["allele_frequency"]["counts"]) == 200
    het = heterozygosity(gt).sample_observed
    assert list(rep["heterozygosity"]["sample_observed"].values()) == pytest.approx(het)
    assert set(rep["pca"]["coordinates"]) == set(samples)
    assert len(rep["pca"]["explained_variance_ratio"]) == 10
    assert len(rep["ld_decay"]["mean_r2"]) == 20
    assert rep["provenance"]["tool"] == "breedhub" and rep["provenance"]["inputs"][0]["sha256"]


def test_population_report__from_a_vcf_reads_the_ploidy(tmp_path):
    rng = np.random.default_rng(3)
    gt = (rng.random((40, 8, 6)) < 0.4).astype(np.int8)
    gt.sort(axis=2)
    lines = [
        "##fileformat=VCFv4.2",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
        + "\t".join(f"x{i}" for i in range(8)),
    ]
    for v in range(40):
        calls = ["/".join(map(str, g)) for g in gt[v]]
        lines.append(f"c{v % 2}\t{(v // 2 + 1) * 1000}\t.\tA\tC\t.\t.\t.\tGT\t" + "\t".join(calls))
    vcf = tmp_path / "hexa.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    rep = population_report(vcf, tmp_path / "r")
    assert rep["ploidy"] == 6 and rep["n_samples"] == 8
    assert len(rep["pca"]["explained_variance_ratio"]) == 8
    assert rep["heterozygosity"]["mean_observed"] == pytest.approx(
        np.nanmean(heterozygosity(gt).variant_observed)
    )


def test_population_report__rejects_a_mismatched_or_incomplete_store(tmp_path):
    sim = gene_drop(["a", "b", "c"], [None] * 3, [None] * 3, ploidy=4, n_markers=30, seed=1)
    h5 = write_genotype_store(
        tmp_path / "g.h5", samples=sim.ids, chrom=sim.chrom, pos=sim.pos_bp,
        gt=sim.genotype_calls,
    )  # fmt: skip
    with pytest.raises(InputFileError, match="ploidy is 4, not 2"):
        population_report(h5, tmp_path / "r", ploidy=2)
    with h5py.File(h5, "a") as f:
        del f["variants/POS"]
    with pytest.raises(InputFileError, match="variants/POS"):
        population_report(h5, tmp_path / "r")
    with pytest.raises(InputFileError, match="no such file"):
        population_report(tmp_path / "none.h5", tmp_path / "r")
